using System.Buffers.Binary;
using System.Collections.Frozen;
using System.Net;
using Tmds.Linux;
using UserBridge.Core.Buffers;
using UserBridge.Core.Forwarding;
using UserBridge.Core.Frames;
using UserBridge.Core.Learning;
using UserBridge.Core.Ports;
using UserBridge.Linux.Host;
using UserBridge.Linux.Interop;

namespace UserBridge.Linux.Ports.Overlay;

/// <summary>
/// <c>type = "vxlan"</c> or <c>"geneve"</c>: frames travel to other hosts' switches or kernel VTEPs inside UDP, through
/// the kernel's routing (an ordinary UDP socket, bound to the underlay address and port).
/// </summary>
/// <remarks>
/// <para>
/// Like the Linux <c>vxlan</c> device, the port keeps its own table of which VTEP each inner (VLAN, MAC) was last
/// seen behind (a <see cref="MacTable"/> whose "ports" are remotes): the switch's table says "that station is behind
/// the overlay port", this one says "behind that remote". A known unicast frame goes to its one remote; broadcast,
/// multicast and unknown unicast go to every configured remote (head-end replication). Split horizon comes from the
/// switch itself: a frame never leaves by the port it came in on, so nothing received from one VTEP is relayed to
/// another.
/// </para>
/// <para>
/// Remotes are learned by their address only, not their UDP source port: senders pick the source port from a hash of
/// the inner flow and listen on the well-known port, where the switch answers them. A new remote costs one copy of
/// the (small) remote list, on the receiving thread; sends read the list without a lock.
/// </para>
/// <para>
/// With a VLAN-to-VNI map the port is a trunk of the mapped VLANs: a received frame is tagged with its VNI's VLAN
/// before the switch sees it (the overlay header's room is reused, no copy of the payload), and a frame sent is
/// untagged and put in its VLAN's VNI (the tag is skipped with the gather list). A packet that holds no frame or
/// belongs to no VNI of the port is dropped and counted; so is a frame too large for the underlay.
/// </para>
/// </remarks>
public sealed unsafe class OverlayPort : IPollablePort, IFrameSource, ICountingPort, ITunnelPort
{
    private const int MSG_DONTWAIT = 0x40;
    private const int RemoteTableSize = 16384;

    private readonly int _fd;
    private readonly FdWaiter _waiter;
    private readonly OverlaySettings _settings;
    private readonly FrozenDictionary<uint, int>? _vlanOfVni;
    private readonly FrozenDictionary<int, uint>? _vniOfVlan;
    private readonly int _maxFrameLength;
    private readonly MacTable _remoteTable = new(RemoteTableSize);

    // The receive thread's source address: the one buffer recvfrom writes into.
    private readonly byte[] _source = GC.AllocateArray<byte>(OverlaySocket.Ipv6AddressSize, pinned: true);
    // Taken to add a remote (the receiving thread, for a new VTEP; the control plane, for a static entry): never per frame.
    private readonly Lock _remoteWriter = new();
    private RemoteList _remotes;
    private PortCounters? _counters;
    private int _disposed;

    private OverlayPort(string name, int fd, OverlaySettings settings, RemoteList remotes)
    {
        Name = name;
        _fd = fd;
        _settings = settings;
        _remotes = remotes;
        _maxFrameLength = settings.MaxFrameLength;
        if (settings.VniMap is { } map)
        {
            _vniOfVlan = map.ToFrozenDictionary();
            _vlanOfVni = map.ToFrozenDictionary(pair => pair.Value, pair => pair.Key);
        }

        Interface = $"{(settings.Ipv6 ? $"[{settings.Local?.ToString() ?? "::"}]" : settings.Local?.ToString() ?? "0.0.0.0")}:{settings.Port}";
        _waiter = new FdWaiter(Interface);
    }

    public string Name { get; }

    public string Type => _settings.Protocol == OverlayProtocol.Geneve ? "geneve" : "vxlan";

    /// <summary>The underlay address and UDP port the port listens on.</summary>
    public string Interface { get; }

    public int PollFd => _fd;

    /// <summary>Opens the UDP socket of an overlay port, bound to the local address (or any) and port.</summary>
    public static OverlayPort Open(string name, OverlaySettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var fd = settings.Namespace is { } ns ? NetworkNamespace.Run(ns, () => OverlaySocket.Open(name, settings)) : OverlaySocket.Open(name, settings);
        var flooded = settings.FloodTo;
        return new OverlayPort(name, fd, settings, new RemoteList([.. flooded], [.. flooded.Select(remote => OverlaySocket.Address(remote, settings.Port))], flooded.Count));
    }

    public void Attach(PortCounters counters) => _counters = counters;

    public string? RemoteOf(MacAddress mac, int vlan)
    {
        var remotes = Volatile.Read(ref _remotes);
        var index = _remoteTable.Lookup(MacTable.Key(mac, TableVlan(vlan)), _remoteTable.NowMs);
        return (uint)index < (uint)remotes.Count ? remotes.Addresses[index].ToString() : null;
    }

    public string? AddStaticRemote(MacAddress mac, int vlan, string remote)
    {
        if (!IPAddress.TryParse(remote, out var address) || address.AddressFamily != (_settings.Ipv6 ? System.Net.Sockets.AddressFamily.InterNetworkV6 : System.Net.Sockets.AddressFamily.InterNetwork))
        {
            return $"remote \"{remote}\" is not an {(_settings.Ipv6 ? "IPv6" : "IPv4")} address, as port {Name}'s underlay is";
        }

        var socketAddress = OverlaySocket.Address(address, _settings.Port);
        var index = RemoteIndex(AddressBytes(socketAddress));
        return index < 0 ? $"port {Name} has {MacTable.MaxPorts} remotes, the most it can hold"
            : _remoteTable.AddStatic(mac, TableVlan(vlan), index) ? null
            : $"port {Name}'s remote table has no room for {mac}: its bucket holds only static entries";
    }

    public void RemoveRemote(MacAddress mac, int vlan) => _remoteTable.Remove(mac, TableVlan(vlan));

    public int Receive(PacketBuffer[] batch) => BatchReceiver.Receive(this, batch, _waiter, _fd);

    public int TryReceive(PacketBuffer[] batch, int pollEvents) => BatchReceiver.TryReceive(this, batch, pollEvents);

    int IFrameSource.ReadOne(PacketBuffer buffer)
    {
        var addressLength = OverlaySocket.Ipv6AddressSize;
        var length = BatchReceiver.ReceiveFrom(_fd, buffer, _source, ref addressLength);
        if (length < 0)
        {
            return BatchReceiver.Failed(LibC.errno, "recvfrom", Interface, Name);
        }

        var array = buffer.Array;
        if (OverlayHeader.Read(_settings.Protocol, array.AsSpan(0, (int)length), out var vni, out var offset) != OverlayStatus.Frame)
        {
            return Dropped(DropReason.OverlayMalformed);
        }

        var vlan = VlanOf(vni);
        if (vlan < 0)
        {
            return Dropped(DropReason.UnknownVni);
        }

        var frameLength = (int)length - offset;
        if (vlan > 0)
        {
            // The tag goes where the overlay header's last 4 bytes were: the addresses move 4 bytes forward.
            array.AsSpan(offset, 2 * MacAddress.Length).CopyTo(array.AsSpan(offset - EthernetFrame.VlanTagLength));
            offset -= EthernetFrame.VlanTagLength;
            frameLength += EthernetFrame.VlanTagLength;
            BinaryPrimitives.WriteUInt16BigEndian(array.AsSpan(offset + 12), EthernetFrame.EtherTypeVlan);
            BinaryPrimitives.WriteUInt16BigEndian(array.AsSpan(offset + 14), (ushort)vlan);
        }

        Learn(MacAddress.Read(array.AsSpan(offset + MacAddress.Length)), vlan, addressLength);
        buffer.Offset = offset;
        buffer.Length = frameLength;
        return BatchReceiver.Read;
    }

    void IFrameSource.OnPollError(int revents) =>
        throw new PortException($"poll {Interface} (port {Name}): the socket reported an error (revents 0x{revents:x})");

    public void Wake() => _waiter.Wake();

    /// <summary>
    /// Encapsulates the frame to its remote, or to every configured remote. A frame too large for the underlay is
    /// dropped and counted as <c>overlay_too_big</c> (and reported sent, so that it is not counted twice).
    /// </summary>
    public bool Send(ReadOnlySpan<byte> frame)
    {
        var vlan = 0;
        var vni = _settings.Vni;
        var tagged = false;
        if (_vniOfVlan is not null)
        {
            var ethernet = new EthernetFrame(frame);
            if (!ethernet.HasVlanTag || ethernet.EtherType != EthernetFrame.EtherTypeVlan)
            {
                return false;
            }

            vlan = ethernet.VlanId;
            if (!_vniOfVlan.TryGetValue(vlan, out vni))
            {
                return false;
            }

            tagged = true;
        }

        if (frame.Length - (tagged ? EthernetFrame.VlanTagLength : 0) > _maxFrameLength)
        {
            _counters?.CountPortDrop(DropReason.OverlayTooBig);
            return true;
        }

        var header = stackalloc byte[OverlayHeader.Length];
        OverlayHeader.Write(_settings.Protocol, new Span<byte>(header, OverlayHeader.Length), vni);
        var remotes = Volatile.Read(ref _remotes);
        var destination = MacAddress.Read(frame);
        if (!destination.IsMulticast && _remoteTable.Lookup(MacTable.Key(destination, vlan), _remoteTable.NowMs) is var known && (uint)known < (uint)remotes.Count)
        {
            return SendTo(remotes.SocketAddresses[known], header, frame, tagged);
        }

        var sent = true;
        for (var i = 0; i < remotes.Flooded; i++)
        {
            sent &= SendTo(remotes.SocketAddresses[i], header, frame, tagged);
        }

        return sent;
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        FileDescriptor.CloseQuietly(_fd);
        _waiter.Dispose();
    }

    private int Dropped(DropReason reason)
    {
        _counters?.CountPortDrop(reason);
        return BatchReceiver.Skipped;
    }

    /// <summary>The VLAN a VNI's frames belong to: 0 for the port's one VNI, the mapped VLAN, or -1 for a VNI not carried.</summary>
    private int VlanOf(uint vni) =>
        _vlanOfVni is null ? (vni == _settings.Vni ? 0 : -1)
        : _vlanOfVni.TryGetValue(vni, out var vlan) ? vlan : -1;

    /// <summary>The VLAN of the port's own table for the switch's <paramref name="vlan"/>: the mapped VLAN, or 0 with one VNI.</summary>
    private int TableVlan(int vlan) => _vniOfVlan is null ? 0 : vlan;

    /// <summary>Remembers that <paramref name="source"/> (in <paramref name="vlan"/>) is behind the remote the packet came from.</summary>
    private void Learn(MacAddress source, int vlan, int addressLength)
    {
        if (source.IsMulticast)
        {
            return;
        }

        var remote = RemoteIndex(AddressBytes(_source.AsSpan(0, addressLength)));
        if (remote >= 0)
        {
            _remoteTable.Learn(MacTable.Key(source, vlan), remote, _remoteTable.NowMs);
        }
    }

    /// <summary>The index of the remote with address <paramref name="ip"/>, added when new; -1 when the list is full.</summary>
    private int RemoteIndex(ReadOnlySpan<byte> ip)
    {
        var found = Find(Volatile.Read(ref _remotes), ip);
        if (found >= 0 || ip.IsEmpty)
        {
            return ip.IsEmpty ? -1 : found;
        }

        lock (_remoteWriter)
        {
            var remotes = _remotes;
            found = Find(remotes, ip);
            if (found >= 0 || remotes.Count >= MacTable.MaxPorts)
            {
                return found;
            }

            var address = new IPAddress(ip);
            // Release: the new list is complete before a sender can read it.
            Volatile.Write(ref _remotes, remotes.With(address, OverlaySocket.Address(address, _settings.Port)));
            return remotes.Count;
        }
    }

    private static int Find(RemoteList remotes, ReadOnlySpan<byte> ip)
    {
        for (var i = 0; i < remotes.Count; i++)
        {
            if (AddressBytes(remotes.SocketAddresses[i]).SequenceEqual(ip))
            {
                return i;
            }
        }

        return -1;
    }

    private static ReadOnlySpan<byte> AddressBytes(ReadOnlySpan<byte> socketAddress) =>
        socketAddress.Length >= OverlaySocket.Ipv6AddressSize ? socketAddress.Slice(8, 16)
        : socketAddress.Length >= OverlaySocket.Ipv4AddressSize ? socketAddress.Slice(4, 4)
        : [];

    private bool SendTo(byte[] socketAddress, byte* header, ReadOnlySpan<byte> frame, bool tagged)
    {
        fixed (byte* address = socketAddress)
        fixed (byte* data = frame)
        {
            var iov = stackalloc IoVec[3];
            iov[0].Base = header;
            iov[0].Length = OverlayHeader.Length;
            var count = 2;
            if (tagged)
            {
                iov[1].Base = data;
                iov[1].Length = 2 * MacAddress.Length;
                iov[2].Base = data + EthernetFrame.HeaderLength + EthernetFrame.VlanTagLength - 2;
                iov[2].Length = (nuint)(frame.Length - (EthernetFrame.HeaderLength + EthernetFrame.VlanTagLength - 2));
                count = 3;
            }
            else
            {
                iov[1].Base = data;
                iov[1].Length = (nuint)frame.Length;
            }

            var message = default(MsgHdr);
            message.Name = address;
            message.NameLength = socketAddress.Length;
            message.Iov = iov;
            message.IovLength = (nuint)count;
            var expected = OverlayHeader.Length + frame.Length - (tagged ? EthernetFrame.VlanTagLength : 0);
            return LibC.sendmsg(_fd, (msghdr*)&message, MSG_DONTWAIT) == expected;
        }
    }

    /// <summary>The remotes, immutable: their addresses and sockaddrs; the first <see cref="Flooded"/> are configured and get the floods.</summary>
    private sealed class RemoteList(IPAddress[] addresses, byte[][] socketAddresses, int flooded)
    {
        public IPAddress[] Addresses { get; } = addresses;

        public byte[][] SocketAddresses { get; } = socketAddresses;

        public int Flooded { get; } = flooded;

        public int Count => SocketAddresses.Length;

        public RemoteList With(IPAddress address, byte[] socketAddress) => new([.. Addresses, address], [.. SocketAddresses, socketAddress], Flooded);
    }
}
