using UserBridge.Core.Switching;

namespace UserBridge.Core.Ports;

/// <summary>
/// Why a port stopped: counted switch-wide (<see cref="Bridge.Failures"/>), because the port a connection made is
/// removed with it and its own counters go too.
/// </summary>
public enum PortFailure
{
    /// <summary>A system call on the port failed (the error text is in the log).</summary>
    Error,

    /// <summary>The peer closed the connection between frames (a VM shut down or disconnected).</summary>
    Closed,

    /// <summary>A QEMU stream length prefix of 0 or over 65,535: the stream cannot be trusted past it.</summary>
    BadFraming,

    /// <summary>A QEMU stream ended inside a frame.</summary>
    CutFrame,

    /// <summary>The worker serving the port crashed too often (three times within a minute).</summary>
    Crash,

    /// <summary>A vhost-user guest broke its virtqueue's rules (a buffer outside its memory, a loop, an index that jumped).</summary>
    BadDescriptor,
}

/// <summary>The stable names of <see cref="PortFailure"/> used in JSON and metrics.</summary>
public static class PortFailures
{
    public static IReadOnlyList<PortFailure> All { get; } = [PortFailure.Error, PortFailure.Closed, PortFailure.BadFraming, PortFailure.CutFrame, PortFailure.Crash, PortFailure.BadDescriptor];

    public static string Name(PortFailure failure) => failure switch
    {
        PortFailure.Error => "error",
        PortFailure.Closed => "closed",
        PortFailure.BadFraming => "bad_framing",
        PortFailure.CutFrame => "cut_frame",
        PortFailure.Crash => "crash",
        PortFailure.BadDescriptor => "bad_descriptor",
        _ => throw new ArgumentOutOfRangeException(nameof(failure), failure, null),
    };

    /// <summary>What a failure with <paramref name="exception"/> counts as.</summary>
    public static PortFailure Of(Exception exception) => exception is PortException port ? port.Failure : PortFailure.Crash;
}
