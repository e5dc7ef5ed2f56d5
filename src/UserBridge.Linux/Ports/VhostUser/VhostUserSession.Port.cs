namespace UserBridge.Linux.Ports.VhostUser;

/// <summary>The port's life in the bridge: built over the queue pairs that are ready, taken out before anything it reads changes.</summary>
public sealed partial class VhostUserSession
{
    /// <summary>Builds a port over the queue pairs that are ready and adds it to the bridge; nothing when none is.</summary>
    private void StartPort()
    {
        if (_memory is null || _port is not null || _portFailed)
        {
            return;
        }

        var rx = new List<VhostUserRing>();
        var tx = new List<VhostUserRing>();
        var eventIndex = VhostUserProtocol.Has(_features, VhostUserProtocol.RingEventIndex);
        var indirect = VhostUserProtocol.Has(_features, VhostUserProtocol.RingIndirectDescriptors);
        var headerSize = VhostUserQueues.HeaderSizeFor(_features);
        for (var pair = 0; pair < MaxQueuePairs; pair++)
        {
            var (receive, transmit) = (_rings[2 * pair], _rings[(2 * pair) + 1]);
            if (receive.Ready && transmit.Ready)
            {
                rx.Add(Build(2 * pair, receive, eventIndex, indirect, headerSize));
                tx.Add(Build((2 * pair) + 1, transmit, eventIndex, indirect, headerSize));
            }
        }

        if (rx.Count == 0)
        {
            return;
        }

        try
        {
            var port = new VhostUserPort(_opening.Name, Path, new VhostUserQueues(_features, rx, tx));
            _opening.Join(port);
            _port = port;
        }
        catch
        {
            ForgetQueues();
            throw;
        }

        _opening.Announce($"port {_opening.Name} up: vhost-user {Path} ({rx.Count} queue pair{(rx.Count == 1 ? string.Empty : "s")}, features 0x{_features:x})");
    }

    private VhostUserRing Build(int index, VringSetup ring, bool eventIndex, bool indirect, int headerSize)
    {
        ring.Queue = new SplitQueue(_memory!, ring.Size, ring.Descriptors, ring.Avail, ring.Used, ring.Base, eventIndex, indirect, headerSize);
        return new VhostUserRing(index, ring.Queue, ring.KickFd, ring.CallFd);
    }

    /// <summary>Takes the port out of the bridge (waiting for the workers to leave it) and keeps where each queue stopped.</summary>
    private void StopPort()
    {
        if (_port is null)
        {
            return;
        }

        _bridge.RemovePort(_port.Name);
        _port = null;
        ForgetQueues();
    }

    /// <summary>Keeps where each queue stopped (its next available entry) and drops it.</summary>
    private void ForgetQueues()
    {
        foreach (var ring in _rings)
        {
            if (ring.Queue is { } queue)
            {
                ring.Base = queue.NextAvail;
                ring.Queue = null;
            }
        }
    }
}
