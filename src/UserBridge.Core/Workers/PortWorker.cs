using UserBridge.Core.Buffers;
using UserBridge.Core.Ports;
using UserBridge.Core.Switching;

namespace UserBridge.Core.Workers;

/// <summary>
/// The thread that owns one port's receive side (or one queue's): a port failure ends only this worker.
/// </summary>
internal sealed class PortWorker(Bridge bridge, IPort port, int portIndex, int queue = -1)
    : BatchWorker(bridge, queue < 0 ? $"ub-rx-{port.Name}" : $"ub-rx-{port.Name}-q{queue}")
{
    protected override void Wake() => port.Wake();

    protected override void Loop(PacketBuffer[] batch, WorkerContext context)
    {
        var queues = queue < 0 ? null : (IMultiQueuePort)port;
        while (!Stopping)
        {
            try
            {
                while (!Stopping)
                {
                    var count = queues is null ? port.Receive(batch) : queues.Receive(batch, queue);
                    if (count == 0)
                    {
                        continue;
                    }

                    EnterBatch();
                    Forward(port, portIndex, Bridge.Snapshot, batch, count, context);
                    LeaveBatch();
                }
            }
            catch (PortException ex)
            {
                LeaveBatchAfterCrash();
                Bridge.OnPortFailed(portIndex, port, ex);
                return;
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                LeaveBatchAfterCrash();
                if (!Recover(port, portIndex, ex))
                {
                    Bridge.OnPortFailed(portIndex, port, ex);
                    return;
                }
            }
        }
    }
}
