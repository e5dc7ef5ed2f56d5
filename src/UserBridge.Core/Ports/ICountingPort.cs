namespace UserBridge.Core.Ports;

/// <summary>
/// A port that drops some packets itself, before the engine sees a frame or after it handed one over (an overlay
/// packet that holds no frame, a frame too large to encapsulate): the switch gives it the counters it keeps for the
/// port, so that those drops show with the engine's, by reason, in <c>port show</c>, the metrics and captures' reports.
/// </summary>
public interface ICountingPort : IPort
{
    /// <summary>Called once, when the port joins the switch, before any worker reads or writes it.</summary>
    void Attach(PortCounters counters);
}
