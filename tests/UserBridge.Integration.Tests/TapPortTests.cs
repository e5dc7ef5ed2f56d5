using System.Diagnostics;
using UserBridge.Core.Switching;
using UserBridge.Linux.Interop;
using UserBridge.Linux.Ports.Tap;

namespace UserBridge.Integration.Tests;

/// <summary>The TAP port and its worker in-process, against the kernel's tun driver.</summary>
public sealed class TapPortTests : IDisposable
{
    private readonly TestNetwork _network = new();

    [Fact]
    public void AWorkerBlockedOnAQuietTapStopsWithinOneSecond()
    {
        Privileged.Require();
        var bridge = new Bridge(new BridgeOptions());
        try
        {
            bridge.AddPort(TapPort.Open(_network.Tap(1)));
            bridge.AddPort(TapPort.Open(_network.Tap(2)));
            bridge.Start();

            // Let both workers drain what the kernel sent when the links came up and block in poll().
            Thread.Sleep(300);
            Assert.All(new[] { 1, 2 }, i => Assert.True(TestNetwork.InterfaceExists(_network.Tap(i))));

            var watch = Stopwatch.StartNew();
            bridge.Dispose();
            watch.Stop();

            Assert.True(watch.Elapsed < TimeSpan.FromSeconds(1), $"stopping two quiet workers took {watch.Elapsed}");
            Assert.Equal(0, bridge.BufferPool.Outstanding);
            Assert.False(TestNetwork.InterfaceExists(_network.Tap(1)), "a TAP the switch created outlived its port");
        }
        finally
        {
            bridge.Dispose();
        }
    }

    [Fact]
    public void OpeningATapGivesAnUpInterfaceAndAClearErrorForABadName()
    {
        Privileged.Require();
        using (var port = TapPort.Open(_network.Tap(1), "p1"))
        {
            Assert.True(port.Created);
            Assert.False(port.Persistent);
            var flags = Convert.ToInt32(File.ReadAllText($"/sys/class/net/{_network.Tap(1)}/flags").Trim(), 16);
            Assert.True((flags & 1) == 1, "the TAP is not up");
            Assert.Equal("p1", port.Name);
            Assert.Equal(_network.Tap(1), port.Interface);
        }

        var error = Assert.Throws<ArgumentException>(() => TapPort.Open("this-name-is-far-too-long"));
        Assert.Contains("not a valid interface name", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AttachingAnInterfaceThatIsNotATapNamesTheInterfaceAndTheErrno()
    {
        Privileged.Require();
        var error = Assert.Throws<InteropException>(() => TapPort.Open("lo"));
        Assert.StartsWith("TUNSETIFF lo: ", error.Message, StringComparison.Ordinal);
        Assert.Matches(@"\((E[A-Z]+)\)", error.Message);
    }

    public void Dispose() => _network.Dispose();
}
