using Tmds.Linux;
using UserBridge.Linux;

namespace UserBridge.Integration.Tests;

/// <summary>Opens sockets inside a network namespace: on a thread of its own that enters the namespace first.</summary>
internal static class NamespaceSockets
{
    private const int CLONE_NEWNET = 0x40000000;

    /// <summary>A packet socket on <paramref name="interfaceName"/> of namespace <paramref name="ns"/>; usable from any thread.</summary>
    public static PacketSocketPort OpenPacket(string ns, string interfaceName)
    {
        PacketSocketPort? port = null;
        Exception? error = null;
        var thread = new Thread(() =>
        {
            try
            {
                using var handle = File.OpenHandle($"/run/netns/{ns}");
                Assert.True(LibC.setns((int)handle.DangerousGetHandle(), CLONE_NEWNET) == 0, $"setns into {ns} failed (errno {LibC.errno})");
                port = PacketSocketPort.Open(interfaceName);
            }
            catch (Exception ex)
            {
                error = ex;
            }
        });
        thread.Start();
        thread.Join();
        return error is null ? port! : throw new InvalidOperationException($"cannot open a packet socket on {interfaceName} in {ns}", error);
    }
}
