namespace UserBridge.Linux.Ports.VhostUser;

/// <summary>
/// The numbers of the vhost-user protocol and of virtio-net that the switch uses: the message header, the feature bits
/// it offers, and the limits it holds a frontend to.
/// </summary>
/// <remarks>
/// A message is a 12-byte header (request, flags, payload size; little-endian, as on every host we run on) followed by
/// the payload; file descriptors ride along as <c>SCM_RIGHTS</c>. The version in the flags is 1; a reply sets
/// <see cref="FlagReply"/>. With <see cref="ProtocolFeatureReplyAck"/> negotiated, a request that sets
/// <see cref="FlagNeedReply"/> gets a u64 reply: 0 for success.
/// </remarks>
public static class VhostUserProtocol
{
    public const int HeaderSize = 12;
    public const uint Version = 1;
    public const uint VersionMask = 0x3;
    public const uint FlagReply = 1 << 2;
    public const uint FlagNeedReply = 1 << 3;

    /// <summary>The largest payload the switch reads: a memory table of <see cref="MaxRegions"/> regions, with room to spare.</summary>
    public const int MaxPayload = 4096;

    /// <summary>The most memory regions in one <c>SET_MEM_TABLE</c> (QEMU's <c>VHOST_MEMORY_BASELINE_NREGIONS</c>).</summary>
    public const int MaxRegions = 8;

    /// <summary>The most file descriptors one message carries.</summary>
    public const int MaxFds = MaxRegions;

    /// <summary><c>SET_VRING_KICK</c>/<c>CALL</c>/<c>ERR</c>: the ring index in bits 0–7; bit 8 says no fd came (poll instead).</summary>
    public const ulong VringIndexMask = 0xFF;
    public const ulong VringNoFd = 1 << 8;

    /// <summary>The largest virtqueue (a power of two, as the split ring requires).</summary>
    public const int MaxQueueSize = 32768;

    /// <summary>The most queue pairs a port serves.</summary>
    public const int MaxQueuePairs = 8;

    // virtio-net feature bits (the virtio 1.x specification, 5.1.3).
    public const int NetCsum = 0;
    public const int NetGuestCsum = 1;
    public const int NetMtu = 3;
    public const int NetGuestTso4 = 7;
    public const int NetGuestTso6 = 8;
    public const int NetGuestEcn = 9;
    public const int NetHostTso4 = 11;
    public const int NetHostTso6 = 12;
    public const int NetHostEcn = 13;
    public const int NetMergeableRxBuffers = 15;
    public const int NetMultiQueue = 22;
    public const int RingIndirectDescriptors = 28;
    public const int RingEventIndex = 29;
    public const int VhostUserProtocolFeatures = 30;
    public const int VirtioVersion1 = 32;

    // vhost-user protocol feature bits.
    public const int ProtocolFeatureMultiQueue = 0;
    public const int ProtocolFeatureReplyAck = 3;
    public const int ProtocolFeatureMtu = 4;

    /// <summary>What the switch offers a frontend: version 1 virtio-net with offloads both ways, mergeable receive buffers, event indexes, indirect descriptors, multiqueue.</summary>
    public const ulong OfferedFeatures =
        (1UL << NetCsum) | (1UL << NetGuestCsum) | (1UL << NetMtu) | (1UL << NetGuestTso4) | (1UL << NetGuestTso6)
        | (1UL << NetGuestEcn) | (1UL << NetHostTso4) | (1UL << NetHostTso6) | (1UL << NetHostEcn)
        | (1UL << NetMergeableRxBuffers) | (1UL << NetMultiQueue) | (1UL << RingIndirectDescriptors)
        | (1UL << RingEventIndex) | (1UL << VhostUserProtocolFeatures) | (1UL << VirtioVersion1);

    /// <summary>The protocol features the switch offers.</summary>
    public const ulong OfferedProtocolFeatures =
        (1UL << ProtocolFeatureMultiQueue) | (1UL << ProtocolFeatureReplyAck) | (1UL << ProtocolFeatureMtu);

    /// <summary>The virtio-net header with <see cref="NetMergeableRxBuffers"/> or <see cref="VirtioVersion1"/>: 10 bytes and <c>num_buffers</c>.</summary>
    public const int NetHeaderSize = 12;

    public static bool Has(ulong features, int bit) => (features & (1UL << bit)) != 0;

    /// <summary>The names of the feature bits in <paramref name="features"/> this switch knows (as the virtio specification spells them).</summary>
    public static IEnumerable<string> FeatureNames(ulong features) =>
        Names.Where(pair => Has(features, pair.Bit)).Select(pair => pair.Name);

    private static readonly (int Bit, string Name)[] Names =
    [
        (NetCsum, "CSUM"), (NetGuestCsum, "GUEST_CSUM"), (NetMtu, "MTU"), (NetGuestTso4, "GUEST_TSO4"), (NetGuestTso6, "GUEST_TSO6"),
        (NetGuestEcn, "GUEST_ECN"), (NetHostTso4, "HOST_TSO4"), (NetHostTso6, "HOST_TSO6"), (NetHostEcn, "HOST_ECN"),
        (NetMergeableRxBuffers, "MRG_RXBUF"), (NetMultiQueue, "MQ"), (RingIndirectDescriptors, "RING_INDIRECT_DESC"),
        (RingEventIndex, "RING_EVENT_IDX"), (VhostUserProtocolFeatures, "PROTOCOL_FEATURES"), (VirtioVersion1, "VERSION_1"),
    ];
}
