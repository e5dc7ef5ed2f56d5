using UserBridge.Core.Forwarding;

namespace UserBridge.Core.Tests.Vlan;

/// <summary>
/// What one cell of the matrix expects: a drop at ingress counted under <see cref="Drop"/>, or (not dropped) the
/// exact <see cref="Frame"/> arriving on the egress port, or nothing arriving there because it does not carry the VLAN.
/// </summary>
internal sealed record CellOutcome(DropReason Drop, byte[]? Frame)
{
    public static CellOutcome NothingArrives { get; } = new(DropReason.None, null);

    public static CellOutcome Dropped(DropReason reason) => new(reason, null);

    public static CellOutcome Arrives(byte[] frame) => new(DropReason.None, frame);

    public override string ToString() => Drop != DropReason.None
        ? $"dropped ({DropReasons.Name(Drop)})"
        : Frame is null ? "nothing arrives" : Convert.ToHexString(Frame);
}
