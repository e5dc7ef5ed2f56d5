namespace UserBridge.Linux.Ports.VhostUser;

/// <summary>One running virtqueue: its ring and its eventfds (the guest kicks the first, the switch signals the second; -1: none).</summary>
public sealed record VhostUserRing(int Index, SplitQueue Queue, int KickFd, int CallFd);

/// <summary>
/// The queue pairs a <see cref="VhostUserPort"/> serves (receive queue 2k, transmit queue 2k + 1) and the virtio features
/// the frontend acknowledged, which fix the virtio-net header's size and whether receive buffers merge.
/// </summary>
public sealed class VhostUserQueues
{
    public VhostUserQueues(ulong features, IReadOnlyList<VhostUserRing> rx, IReadOnlyList<VhostUserRing> tx)
    {
        ArgumentNullException.ThrowIfNull(rx);
        ArgumentNullException.ThrowIfNull(tx);
        if (rx.Count == 0 || rx.Count != tx.Count)
        {
            throw new ArgumentException($"{rx.Count} receive and {tx.Count} transmit queues (pairs, at least one)", nameof(rx));
        }

        Features = features;
        Rx = [.. rx];
        Tx = [.. tx];
        Mergeable = VhostUserProtocol.Has(features, VhostUserProtocol.NetMergeableRxBuffers);
        HeaderSize = HeaderSizeFor(features);
    }

    public ulong Features { get; }

    public VhostUserRing[] Rx { get; }

    public VhostUserRing[] Tx { get; }

    public int Pairs => Rx.Length;

    public bool Mergeable { get; }

    /// <summary>The virtio-net header before each frame: 12 bytes with <c>num_buffers</c> (version 1 or mergeable buffers), else 10.</summary>
    public int HeaderSize { get; }

    /// <summary>The virtio-net header's size with <paramref name="features"/>.</summary>
    public static int HeaderSizeFor(ulong features) =>
        VhostUserProtocol.Has(features, VhostUserProtocol.NetMergeableRxBuffers) || VhostUserProtocol.Has(features, VhostUserProtocol.VirtioVersion1)
            ? VhostUserProtocol.NetHeaderSize
            : VirtioNetHeaderSizeLegacy;

    private const int VirtioNetHeaderSizeLegacy = 10;
}
