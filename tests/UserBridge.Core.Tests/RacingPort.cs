using UserBridge.Core.Buffers;
using UserBridge.Core.Ports;

namespace UserBridge.Core.Tests;

/// <summary>
/// A port that receives one frame at the worst moment: only once <paramref name="deliverWhen"/> holds, which
/// the tests make "the control plane has published this port's removal". That is the interleaving of a frame
/// read by the worker just before it could see the removal (a TAP reader returns whatever it read before
/// EAGAIN). After that frame the port stays quiet until woken.
/// </summary>
internal sealed class RacingPort(string name, byte[] pendingFrame, Func<bool> deliverWhen) : IPort
{
    private readonly ManualResetEventSlim _woken = new();
    private volatile bool _receiving;
    private volatile bool _delivered;

    public string Name { get; } = name;

    public string Type => "racing";

    public string Interface => Name;

    /// <summary>True once the worker is inside <see cref="Receive"/>: from then on a stop cannot skip the race.</summary>
    public bool Receiving => _receiving;

    public bool Delivered => _delivered;

    public int Receive(PacketBuffer[] batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        _receiving = true;
        if (!_delivered)
        {
            SpinWait.SpinUntil(() => deliverWhen() || _woken.IsSet);
            if (deliverWhen())
            {
                pendingFrame.CopyTo(batch[0].Array, 0);
                batch[0].Length = pendingFrame.Length;
                _delivered = true;
                return 1;
            }
        }

        _woken.Wait();
        return 0;
    }

    public void Wake() => _woken.Set();

    public bool Send(ReadOnlySpan<byte> frame) => true;

    public void Dispose() => _woken.Dispose();
}
