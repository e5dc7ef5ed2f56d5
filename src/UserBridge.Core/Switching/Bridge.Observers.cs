using UserBridge.Core.Learning;
using UserBridge.Core.Observers;
using UserBridge.Core.Ports;

namespace UserBridge.Core.Switching;

/// <summary>The control plane of captures and mirrors: taps attached to the snapshot the workers forward with.</summary>
public sealed partial class Bridge
{
    /// <summary>
    /// Attaches a capture or a mirror: from the next batch on, the workers offer it copies of its ports' traffic.
    /// A mirror's output port stops being learned on and flooded to.
    /// </summary>
    public void AddObserver(FrameObserver tap)
    {
        ArgumentNullException.ThrowIfNull(tap);
        lock (_control)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_taps.Contains(tap))
            {
                throw new ArgumentException("the tap is already attached", nameof(tap));
            }

            _taps.Add(tap);
            Publish(_snapshot.Ports);
            if (tap is MirrorObserver mirror && _snapshot.Find(mirror.Output) is { } output)
            {
                MacTable.FlushPort(output.Index, includeStatic: true);
            }
        }
    }

    /// <summary>
    /// Detaches a tap and returns once no worker can still offer it a copy: after that its consumer may drain and
    /// close. False when it was not attached.
    /// </summary>
    public bool RemoveObserver(FrameObserver tap)
    {
        ArgumentNullException.ThrowIfNull(tap);
        lock (_control)
        {
            if (!_taps.Remove(tap))
            {
                return false;
            }

            if (!_disposed)
            {
                Publish(_snapshot.Ports);
            }
        }

        WaitForWorkers();
        return true;
    }

    /// <summary>Sets <see cref="PortSlot.IsMirrorOutput"/> on exactly the ports that a mirror sends to.</summary>
    private PortSlot?[] MarkMirrorOutputs(PortSlot?[] ports)
    {
        PortSlot?[]? marked = null;
        for (var i = 0; i < ports.Length; i++)
        {
            if (ports[i] is not { } slot)
            {
                continue;
            }

            var isOutput = _taps.Any(tap => tap is MirrorObserver mirror && mirror.Output == slot.Name);
            if (slot.IsMirrorOutput != isOutput)
            {
                marked ??= (PortSlot?[])ports.Clone();
                marked[i] = slot with { IsMirrorOutput = isOutput };
            }
        }

        return marked ?? ports;
    }
}
