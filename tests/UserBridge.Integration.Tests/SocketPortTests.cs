using System.Buffers.Binary;
using System.Net.Sockets;
using Microsoft.Extensions.Logging.Abstractions;
using UserBridge.Control.Config;
using UserBridge.Control.Runtime;
using UserBridge.Core.Frames;
using UserBridge.Core.Ports;
using UserBridge.Core.Switching;
using UserBridge.Linux.Ports.QemuDgram;
using UserBridge.Linux.Ports.QemuStream;
using UserBridge.Tests.Shared;

namespace UserBridge.Integration.Tests;

/// <summary>
/// The QEMU socket ports against real unix sockets, with this test playing QEMU's side of the protocol
/// (length-prefixed stream, one frame per datagram). No root needed. QEMU itself is in the guest tests.
/// </summary>
public sealed class SocketPortTests : IDisposable
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(10);
    private readonly string _directory = Directory.CreateTempSubdirectory("ub-sock-").FullName;
    private readonly ListLogger _log = new();
    private readonly Bridge _bridge;
    private readonly RunningSwitch _ports;
    private readonly MemoryPort _host = new("host");
    private readonly List<string> _announced = [];

    public SocketPortTests()
    {
        _bridge = new Bridge(new BridgeOptions(), logger: _log);
        _ports = new RunningSwitch(_bridge, NullLogger.Instance, line =>
        {
            lock (_announced)
            {
                _announced.Add(line);
            }
        });
        _bridge.AddPort(_host);
        _bridge.Start();
    }

    [Fact]
    public void AStreamListenerCarriesFramesBothWaysWithTheLengthPrefix()
    {
        var path = Socket("vm1.sock");
        _ports.Add(new PortConfig("vm1", QemuStreamPortType.Instance, new QemuStreamSettings(path)));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
        using var vm = ConnectStream(path);
        WaitFor(() => _bridge.Snapshot.Find("vm1") is not null, "the VM's connection to become port vm1");

        vm.Send(Framed(Frame(Broadcast, VmMac, payloadByte: 0x11)));
        var atHost = WaitForSent(_host);
        Assert.Equal(Frame(Broadcast, VmMac, payloadByte: 0x11), atHost);

        _host.Inject(Frame(VmMac, HostMac, payloadByte: 0x22));
        Assert.Equal(Frame(VmMac, HostMac, payloadByte: 0x22), ReadFramed(vm));
        Assert.Equal("qemu-stream", _bridge.Snapshot.Find("vm1")!.Port.Type);
    }

    [Fact]
    public void MultiGivesEveryConnectionItsOwnPortAndForwardsBetweenThem()
    {
        var path = Socket("vms.sock");
        _ports.Add(new PortConfig("vms", QemuStreamPortType.Instance, new QemuStreamSettings(path) { Multi = true }));
        using var first = ConnectStream(path);
        WaitFor(() => _bridge.Snapshot.Find("vms-1") is not null, "port vms-1");
        using var second = ConnectStream(path);
        WaitFor(() => _bridge.Snapshot.Find("vms-2") is not null, "port vms-2");

        second.Send(Framed(Frame(Broadcast, OtherMac, payloadByte: 1)));
        Assert.Equal(Frame(Broadcast, OtherMac, payloadByte: 1), ReadFramed(first));
        first.Send(Framed(Frame(OtherMac, VmMac, payloadByte: 2)));
        Assert.Equal(Frame(OtherMac, VmMac, payloadByte: 2), ReadFramed(second));

        first.Close();
        WaitFor(() => _bridge.Snapshot.Find("vms-1") is null, "port vms-1 to be removed after its VM disconnected");
        Assert.NotNull(_bridge.Snapshot.Find("vms-2"));
        Assert.Equal(1, _bridge.Failures(PortFailure.Closed));
        Assert.Equal(0, _bridge.Failures(PortFailure.CutFrame));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(65536)]
    public void ABadLengthClosesOnlyThatConnectionAndTheListenerTakesTheNext(int length)
    {
        var path = Socket("vm1.sock");
        _ports.Add(new PortConfig("vm1", QemuStreamPortType.Instance, new QemuStreamSettings(path)));
        using (var bad = ConnectStream(path))
        {
            WaitFor(() => _bridge.Snapshot.Find("vm1") is not null, "port vm1");
            var prefix = new byte[4];
            BinaryPrimitives.WriteInt32BigEndian(prefix, length);
            bad.Send(prefix);
            WaitFor(() => _bridge.Snapshot.Find("vm1") is null, "port vm1 to be removed after a bad length prefix");
            Assert.Equal(0, bad.Receive(new byte[16]));
            Assert.Equal(1, _bridge.Failures(PortFailure.BadFraming));
        }

        using var good = ConnectStream(path);
        WaitFor(() => _bridge.Snapshot.Find("vm1") is not null, "port vm1 to come back for the next VM");
        good.Send(Framed(Frame(Broadcast, VmMac, payloadByte: 3)));
        Assert.Equal(Frame(Broadcast, VmMac, payloadByte: 3), WaitForSent(_host));
        Assert.Equal("up", _bridge.Snapshot.Find("host")!.IsUp ? "up" : "down");
    }

    [Fact]
    public void AStreamCutInsideAFrameClosesThatConnection()
    {
        var path = Socket("vm1.sock");
        _ports.Add(new PortConfig("vm1", QemuStreamPortType.Instance, new QemuStreamSettings(path)));
        using var vm = ConnectStream(path);
        WaitFor(() => _bridge.Snapshot.Find("vm1") is not null, "port vm1");

        vm.Send(Framed(Frame(Broadcast, VmMac, payloadByte: 4)).AsSpan(0, 30));
        vm.Shutdown(SocketShutdown.Send);

        WaitFor(() => _bridge.Snapshot.Find("vm1") is null, "port vm1 to be removed after the stream was cut mid-frame");
        Assert.Equal(0, _host.SentCount);
        Assert.Equal(1, _bridge.Failures(PortFailure.CutFrame));
        Assert.Equal(0, _bridge.Failures(PortFailure.BadFraming));
    }

    [Fact]
    public void AVmThatStopsReadingLosesOnlyItsOwnFrames()
    {
        var path = Socket("slow.sock");
        _ports.Add(new PortConfig("slow", QemuStreamPortType.Instance, new QemuStreamSettings(path)));
        var other = new MemoryPort("other", keepSent: false);
        _bridge.AddPort(other);
        using var slow = ConnectStream(path);
        WaitFor(() => _bridge.Snapshot.Find("slow") is not null, "port slow");

        // The slow VM never reads: its socket buffer, then its transmit queue fill up.
        const int Frames = 4000;
        for (var i = 0; i < Frames; i++)
        {
            _host.Inject(Frame(Broadcast, HostMac, payloadByte: (byte)i, payloadLength: 1400));
        }

        WaitFor(() => other.SentCount == Frames, $"all {Frames} broadcasts to reach the port that reads");
        var slowCounters = _bridge.Snapshot.Find("slow")!.Counters;
        Assert.True(slowCounters.TxErrors > 0, "the slow VM's refused frames were not counted");
        Assert.Equal(Frames, slowCounters.TxFrames + slowCounters.TxErrors);
    }

    [Fact]
    public void TheConnectRoleRetriesUntilQemuListensAndReconnectsAfterItRestarts()
    {
        var path = Socket("vm2.sock");
        _ports.Add(new PortConfig("vm2", QemuStreamPortType.Instance, new QemuStreamSettings(path) { Role = QemuStreamSettings.RoleConnect }));
        WaitFor(() => Logged($"port vm2: waiting for QEMU to listen on {path}"), "the switch's first attempt to connect, with nothing listening yet");
        Assert.False(_bridge.Snapshot.Find("vm2")!.IsUp, "port vm2 is up before QEMU listens");

        for (var restart = 0; restart < 2; restart++)
        {
            using var qemu = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            File.Delete(path);
            qemu.Bind(new UnixDomainSocketEndPoint(path));
            qemu.Listen(1);
            using var connection = qemu.Accept();
            WaitFor(() => _bridge.Snapshot.Find("vm2") is { IsUp: true }, $"the switch to connect (round {restart + 1})");

            connection.Send(Framed(Frame(Broadcast, VmMac, payloadByte: (byte)restart)));
            Assert.Equal(Frame(Broadcast, VmMac, payloadByte: (byte)restart), WaitForSent(_host));
            // QEMU exits: its connection and its listening socket close.
            connection.Close();
            qemu.Close();
            WaitFor(() => _bridge.Snapshot.Find("vm2") is { IsUp: false }, "port vm2 to go down when QEMU closed");
        }
    }

    [Fact]
    public void ADgramPortAnswersTheAddressTheVmSendsFrom()
    {
        var path = Socket("vm3.sock");
        var vmPath = Socket("vm3-qemu.sock");
        _ports.Add(new PortConfig("vm3", QemuDgramPortType.Instance, new QemuDgramSettings(path)));
        using var vm = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        vm.Bind(new UnixDomainSocketEndPoint(vmPath));
        vm.ReceiveTimeout = (int)Deadline.TotalMilliseconds;

        vm.SendTo(Frame(Broadcast, VmMac, payloadByte: 5), new UnixDomainSocketEndPoint(path));
        Assert.Equal(Frame(Broadcast, VmMac, payloadByte: 5), WaitForSent(_host));

        _host.Inject(Frame(VmMac, HostMac, payloadByte: 6));
        var buffer = new byte[2048];
        var length = vm.Receive(buffer);
        Assert.Equal(Frame(VmMac, HostMac, payloadByte: 6), buffer[..length]);

        _ports.Remove("vm3");
        Assert.False(File.Exists(path), "the dgram socket file outlived its port");
    }

    public void Dispose()
    {
        _ports.Dispose();
        _bridge.Dispose();
        Directory.Delete(_directory, recursive: true);
    }

    private static readonly MacAddress Broadcast = MacAddress.Broadcast;
    private static readonly MacAddress VmMac = MacAddress.Parse("52:54:00:00:00:01");
    private static readonly MacAddress OtherMac = MacAddress.Parse("52:54:00:00:00:02");
    private static readonly MacAddress HostMac = MacAddress.Parse("02:00:00:00:00:0a");

    private string Socket(string name) => Path.Combine(_directory, name);

    private static Socket ConnectStream(string path)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified) { ReceiveTimeout = (int)Deadline.TotalMilliseconds };
        socket.Connect(new UnixDomainSocketEndPoint(path));
        return socket;
    }

    private static byte[] Frame(MacAddress destination, MacAddress source, byte payloadByte, int payloadLength = 46)
    {
        var frame = new byte[EthernetFrame.HeaderLength + payloadLength];
        destination.Write(frame);
        source.Write(frame.AsSpan(6));
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(12), 0x0800);
        frame.AsSpan(EthernetFrame.HeaderLength).Fill(payloadByte);
        return frame;
    }

    private static byte[] Framed(byte[] frame)
    {
        var framed = new byte[4 + frame.Length];
        BinaryPrimitives.WriteInt32BigEndian(framed, frame.Length);
        frame.CopyTo(framed, 4);
        return framed;
    }

    private static byte[] ReadFramed(Socket socket)
    {
        var prefix = ReadExactly(socket, 4);
        return ReadExactly(socket, BinaryPrimitives.ReadInt32BigEndian(prefix));
    }

    private static byte[] ReadExactly(Socket socket, int length)
    {
        var buffer = new byte[length];
        var offset = 0;
        while (offset < length)
        {
            var read = socket.Receive(buffer, offset, length - offset, SocketFlags.None);
            Assert.True(read > 0, $"the switch closed the stream after {offset} of {length} bytes");
            offset += read;
        }

        return buffer;
    }

    private static byte[] WaitForSent(MemoryPort port)
    {
        byte[]? frame = null;
        WaitFor(() => port.TryTakeSent(out frame), $"a frame to reach port {port.Name}");
        return frame!;
    }

    private bool Logged(string message)
    {
        lock (_log.Lines)
        {
            return _log.Lines.Any(line => line.EndsWith(message, StringComparison.Ordinal));
        }
    }

    private static void WaitFor(Func<bool> condition, string what) => Waiting.Until(condition, what, Deadline, pollMilliseconds: 10);
}
