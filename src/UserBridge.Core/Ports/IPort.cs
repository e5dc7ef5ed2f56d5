using UserBridge.Core.Buffers;

namespace UserBridge.Core.Ports;

/// <summary>
/// A switch port: the only place frames enter or leave the switch. Implementations do the I/O; the core
/// never does. Exactly one worker calls <see cref="Receive"/>; any worker may call <see cref="Send"/>.
/// </summary>
public interface IPort : IDisposable
{
    /// <summary>The port's name in the switch (unique).</summary>
    string Name { get; }

    /// <summary>The port type as users write it in the config: "tap", "memory", ...</summary>
    string Type { get; }

    /// <summary>The interface or endpoint behind the port (a TAP name, a socket path).</summary>
    string Interface { get; }

    /// <summary>
    /// Waits until at least one frame is available, then fills up to <c>batch.Length</c> buffers without
    /// waiting again, setting each buffer's length. Returns the number of frames read, or 0 when
    /// <see cref="Wake"/> was called. Throws <see cref="PortException"/> when the port can no longer be read
    /// (the interface vanished).
    /// </summary>
    int Receive(PacketBuffer[] batch);

    /// <summary>Makes a blocked or the next <see cref="Receive"/> return promptly. Safe from any thread.</summary>
    void Wake();

    /// <summary>Sends one frame without blocking the caller. Returns false when the frame was not sent.</summary>
    bool Send(ReadOnlySpan<byte> frame);
}
