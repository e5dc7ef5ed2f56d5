namespace UserBridge.Capture;

/// <summary>
/// The direction bits of a pcapng <c>epb_flags</c> option (bits 0-1): whether a copy is a port's ingress or one of
/// its egress copies. The values are the wire values.
/// </summary>
public enum PacketDirection
{
    /// <summary>Direction not recorded.</summary>
    Unknown = 0,

    /// <summary>The frame as it arrived on the port.</summary>
    Inbound = 1,

    /// <summary>The frame as the switch sent it out of the port.</summary>
    Outbound = 2,
}
