namespace UserBridge.Core.Tests.Vlan;

/// <summary>
/// One VLAN tag as a test states it: its TPID (0x8100 for 802.1Q, 0x88a8 for 802.1ad), priority code point (0-7),
/// drop eligible indicator and VLAN ID (0 for a priority tag).
/// </summary>
internal readonly record struct Tag(ushort Tpid, int Vid, int Pcp = 0, bool Dei = false)
{
    public const ushort Dot1qTpid = 0x8100;
    public const ushort Dot1adTpid = 0x88A8;

    public static Tag Dot1q(int vid, int pcp = 0, bool dei = false) => new(Dot1qTpid, vid, pcp, dei);

    public static Tag Dot1ad(int vid, int pcp = 0, bool dei = false) => new(Dot1adTpid, vid, pcp, dei);

    /// <summary>The tag control information: PCP in the top 3 bits, then DEI, then the 12-bit VID.</summary>
    public ushort Tci => (ushort)((Pcp << 13) | (Dei ? 0x1000 : 0) | Vid);
}
