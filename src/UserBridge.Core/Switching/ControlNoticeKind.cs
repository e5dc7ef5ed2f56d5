namespace UserBridge.Core.Switching;

/// <summary>What a worker tells the control plane through the <see cref="ControlInbox"/>.</summary>
internal enum ControlNoticeKind
{
    /// <summary>A port could no longer be read: it goes down and <see cref="Bridge.PortFailed"/> is raised.</summary>
    PortFailed,

    /// <summary>A guard tripped (a BPDU on a BPDU-guarded port, a new MAC past <c>max_macs</c> with <c>on_limit = shutdown</c>): the port goes down.</summary>
    GuardTripped,
}
