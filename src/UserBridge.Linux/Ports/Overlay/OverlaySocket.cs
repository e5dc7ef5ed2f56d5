using System.Buffers.Binary;
using System.Net;
using Tmds.Linux;
using UserBridge.Linux.Interop;

namespace UserBridge.Linux.Ports.Overlay;

/// <summary>
/// The UDP socket of an overlay port: bound, with its TTL and TOS, joined to its multicast group; and the sockaddrs it
/// sends to. Opened in the calling thread's network namespace.
/// </summary>
internal static unsafe class OverlaySocket
{
    /// <summary>The size of a sockaddr_in.</summary>
    public const int Ipv4AddressSize = 16;

    /// <summary>The size of a sockaddr_in6, the larger of the two.</summary>
    public const int Ipv6AddressSize = 28;


    private const int IPPROTO_IP = 0;
    private const int IP_TOS = 1;
    private const int IP_TTL = 2;
    private const int IPPROTO_IPV6 = 41;
    private const int IPV6_UNICAST_HOPS = 16;
    private const int IPV6_TCLASS = 67;
    private const int IP_MULTICAST_IF = 32;
    private const int IP_MULTICAST_TTL = 33;
    private const int IP_MULTICAST_LOOP = 34;
    private const int IP_ADD_MEMBERSHIP = 35;
    private const int IPV6_MULTICAST_IF = 17;
    private const int IPV6_MULTICAST_HOPS = 18;
    private const int IPV6_MULTICAST_LOOP = 19;
    private const int IPV6_JOIN_GROUP = 20;

    /// <summary>The bound UDP socket, with its TTL and TOS.</summary>
    public static int Open(string name, OverlaySettings settings)
    {
        var ipv6 = settings.Ipv6;
        var endpoint = $"{settings.Local?.ToString() ?? (ipv6 ? "::" : "0.0.0.0")} port {settings.Port}{(settings.Namespace is { } ns ? $" in namespace {ns}" : string.Empty)}";
        var fd = LibC.socket(ipv6 ? LibC.AF_INET6 : LibC.AF_INET, LibC.SOCK_DGRAM | LibC.SOCK_NONBLOCK | LibC.SOCK_CLOEXEC, 0);
        if (fd < 0)
        {
            throw new InteropException($"socket(UDP) for overlay port {name}", LibC.errno);
        }

        try
        {
            // With a group the socket listens on every address: a datagram to the group must reach it too.
            var local = Address(settings.Group is null && settings.Local is { } unicast ? unicast : ipv6 ? IPAddress.IPv6Any : IPAddress.Any, settings.Port);
            fixed (byte* address = local)
            {
                if (LibC.bind(fd, (sockaddr*)address, local.Length) < 0)
                {
                    throw new InteropException($"bind UDP {endpoint} (overlay port {name})", LibC.errno, "is the address on an interface of this namespace, and the port free?");
                }
            }

            if (settings.Ttl is { } ttl)
            {
                SetOption(fd, ipv6 ? IPPROTO_IPV6 : IPPROTO_IP, ipv6 ? IPV6_UNICAST_HOPS : IP_TTL, ttl, "ttl", name);
            }

            if (settings.Tos is { } tos)
            {
                SetOption(fd, ipv6 ? IPPROTO_IPV6 : IPPROTO_IP, ipv6 ? IPV6_TCLASS : IP_TOS, tos, "tos", name);
            }

            if (settings.Group is { } group)
            {
                JoinGroup(fd, name, group, settings.Local!, settings.Ttl ?? 1);
            }

            return fd;
        }
        catch
        {
            FileDescriptor.CloseQuietly(fd);
            throw;
        }
    }

    /// <summary>
    /// Joins <paramref name="group"/> on the interface that holds <paramref name="local"/>, sends multicast out of it with
    /// <paramref name="ttl"/> (1 unless configured, as the kernel's vxlan does) and without looping it back.
    /// </summary>
    private static void JoinGroup(int fd, string name, IPAddress group, IPAddress local, int ttl)
    {
        if (group.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork)
        {
            var request = stackalloc byte[8];
            group.TryWriteBytes(new Span<byte>(request, 4), out _);
            local.TryWriteBytes(new Span<byte>(request + 4, 4), out _);
            SetOption(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, request, 8, $"join group {group} on {local}", name);
            SetOption(fd, IPPROTO_IP, IP_MULTICAST_IF, request + 4, 4, $"multicast from {local}", name);
            SetOption(fd, IPPROTO_IP, IP_MULTICAST_TTL, ttl, "multicast ttl", name);
            SetOption(fd, IPPROTO_IP, IP_MULTICAST_LOOP, 0, "multicast loop", name);
            return;
        }

        var index = System.Net.NetworkInformation.NetworkInterface.GetAllNetworkInterfaces()
            .Where(candidate => candidate.GetIPProperties().UnicastAddresses.Any(address => address.Address.Equals(local)))
            .Select(candidate => candidate.GetIPProperties().GetIPv6Properties().Index)
            .FirstOrDefault(-1);
        if (index < 0)
        {
            throw new InteropException($"overlay port {name}: no interface of this namespace has {local}, whose interface should join {group}");
        }

        var request6 = stackalloc byte[20];
        group.TryWriteBytes(new Span<byte>(request6, 16), out _);
        *(int*)(request6 + 16) = index;
        SetOption(fd, IPPROTO_IPV6, IPV6_JOIN_GROUP, request6, 20, $"join group {group} on {local}", name);
        SetOption(fd, IPPROTO_IPV6, IPV6_MULTICAST_IF, index, "multicast interface", name);
        SetOption(fd, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, ttl, "multicast hops", name);
        SetOption(fd, IPPROTO_IPV6, IPV6_MULTICAST_LOOP, 0, "multicast loop", name);
    }

    private static void SetOption(int fd, int level, int option, int value, string key, string name) => SetOption(fd, level, option, (byte*)&value, sizeof(int), $"{key} = {value}", name);

    private static void SetOption(int fd, int level, int option, byte* value, int length, string what, string name)
    {
        if (LibC.setsockopt(fd, level, option, value, length) < 0)
        {
            throw new InteropException($"setsockopt {what} (overlay port {name})", LibC.errno);
        }
    }

    /// <summary>A sockaddr_in or sockaddr_in6 for <paramref name="address"/> and <paramref name="port"/>.</summary>
    public static byte[] Address(IPAddress address, ushort port)
    {
        var ipv6 = address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6;
        var bytes = new byte[ipv6 ? Ipv6AddressSize : Ipv4AddressSize];
        BinaryPrimitives.WriteUInt16LittleEndian(bytes, (ushort)(ipv6 ? LibC.AF_INET6 : LibC.AF_INET));
        BinaryPrimitives.WriteUInt16BigEndian(bytes.AsSpan(2), port);
        address.TryWriteBytes(bytes.AsSpan(ipv6 ? 8 : 4), out _);
        return bytes;
    }
}
