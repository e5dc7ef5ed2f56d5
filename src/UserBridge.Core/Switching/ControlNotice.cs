using UserBridge.Core.Forwarding;
using UserBridge.Core.Ports;

namespace UserBridge.Core.Switching;

/// <summary>
/// One record in the <see cref="ControlInbox"/>: which port (its index, and the port object itself, so that a port added
/// at the same index or under the same name since is never taken down for it), and what happened to it.
/// </summary>
/// <param name="Kind">What happened.</param>
/// <param name="PortIndex">The port's index in the snapshot the worker read.</param>
/// <param name="Port">The port itself.</param>
/// <param name="Failure">For <see cref="ControlNoticeKind.PortFailed"/>: why the port could no longer be read.</param>
/// <param name="Guard">For <see cref="ControlNoticeKind.GuardTripped"/>: the guard's drop reason (BPDU guard, MAC limit).</param>
internal readonly record struct ControlNotice(ControlNoticeKind Kind, int PortIndex, IPort Port, Exception? Failure, DropReason Guard)
{
    public static ControlNotice Failed(int portIndex, IPort port, Exception failure) =>
        new(ControlNoticeKind.PortFailed, portIndex, port, failure, DropReason.None);

    public static ControlNotice Tripped(int portIndex, IPort port, DropReason guard) =>
        new(ControlNoticeKind.GuardTripped, portIndex, port, null, guard);
}
