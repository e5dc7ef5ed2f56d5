using System.Diagnostics;
using Microsoft.Extensions.Logging.Abstractions;
using UserBridge.Core.Frames;
using UserBridge.Core.Ports;
using UserBridge.Core.Switching;
using UserBridge.Linux.Ports;
using UserBridge.Linux.Ports.VhostUser;

namespace UserBridge.Linux.Tests.VhostUser;

/// <summary>
/// A running bridge with two memory ports (m1, m2) and a vhost-user session for port "vm" on a <see cref="TestFrontend"/>'s
/// socket pair, served on a thread of its own as an endpoint would.
/// </summary>
internal sealed class VhostUserLab : IDisposable
{
    public const string PortName = "vm";

    private readonly Thread _thread;
    private string? _ended;

    public VhostUserLab(int maxQueuePairs = 1)
    {
        Bridge = new Bridge(new BridgeOptions());
        M1 = new MemoryPort("m1");
        M2 = new MemoryPort("m2");
        Bridge.AddPort(M1);
        Bridge.AddPort(M2);
        Bridge.Start();
        Frontend = new TestFrontend();
        Session = new VhostUserSession(new PortOpening(Bridge, PortName, null, PortGuard.None, NullLogger.Instance, Lines.Add), "/test/vm.sock", Frontend.SwitchEnd, maxQueuePairs);
        // As the endpoint does: the session is disposed (its connection closed) once it ends.
        _thread = new Thread(() =>
        {
            Volatile.Write(ref _ended, Session.Run());
            Session.Dispose();
        }) { IsBackground = true, Name = "test-vhost-session" };
        _thread.Start();
    }

    public Bridge Bridge { get; }

    public MemoryPort M1 { get; }

    public MemoryPort M2 { get; }

    public TestFrontend Frontend { get; }

    public VhostUserSession Session { get; }

    public List<string> Lines { get; } = [];

    /// <summary>Why the session ended, once it has.</summary>
    public string? Ended => Volatile.Read(ref _ended);

    public PortSlot? Port => Bridge.Snapshot.Find(PortName);

    public static readonly MacAddress Guest = new(0x0200_0000_0a01);
    public static readonly MacAddress Host1 = new(0x0200_0000_0b01);

    public static byte[] Frame(MacAddress destination, MacAddress source, int length = 64, byte fill = 0x5a)
    {
        var frame = new byte[length];
        Array.Fill(frame, fill);
        destination.Write(frame);
        source.Write(frame.AsSpan(6));
        frame[12] = 0x08;
        frame[13] = 0x00;
        return frame;
    }

    public static void Wait(Func<bool> condition, string awaited)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            if (clock.Elapsed > TimeSpan.FromSeconds(10))
            {
                Assert.Fail($"timed out after 10 s waiting for {awaited}");
            }

            Thread.Sleep(1);
        }
    }

    /// <summary>Waits for the session to end, and returns why.</summary>
    public string WaitEnded()
    {
        Assert.True(_thread.Join(TimeSpan.FromSeconds(10)), "the session did not end within 10 s");
        return Ended!;
    }

    public void Dispose()
    {
        Session.Stop();
        _thread.Join(TimeSpan.FromSeconds(10));
        Session.Dispose();
        Frontend.Dispose();
        Bridge.Dispose();
    }
}
