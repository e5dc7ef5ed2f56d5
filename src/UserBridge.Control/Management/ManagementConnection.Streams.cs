using System.Buffers;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using UserBridge.Capture;

namespace UserBridge.Control.Management;

/// <summary>
/// The connections that become streams: <c>monitor</c> (JSON lines) and <c>capture stream</c> (pcapng). The client
/// sends nothing after its request but the end of its input; what it sends anyway is read into a small buffer and
/// thrown away, and past <see cref="ManagementOptions.StreamInputLimitBytes"/> the client is cut off.
/// </summary>
internal sealed partial class ManagementConnection
{
    private static readonly TimeSpan StreamStopTimeout = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Serves <c>monitor</c>: the reply line, then one JSON object per event until the client closes the connection or
    /// the switch stops. A monitor that stops reading is not cut off: it loses events of its own (and is told how many).
    /// </summary>
    private async Task StreamEventsAsync()
    {
        using var subscription = server.Ports.Events.Subscribe();
        if (!await SendAsync(Encoding.UTF8.GetBytes(ManagementProtocol.Ok(new JsonObject { ["stream"] = "events" }) + "\n"), cutOffSlowReader: true))
        {
            return;
        }

        using var clientGone = CancellationTokenSource.CreateLinkedTokenSource(server.Stopping);
        var input = WatchInputAsync(clientGone, ManagementVerbs.MonitorVerb);
        var lines = subscription.Lines;
        try
        {
            while (await lines.WaitToReadAsync(clientGone.Token))
            {
                // What queued up while the last batch was sent goes in one send.
                _output.ResetWrittenCount();
                while (_output.WrittenCount < PieceBytes && lines.TryRead(out var line))
                {
                    Encoding.UTF8.GetBytes(line, _output);
                    _output.Write("\n"u8);
                }

                await SendAsync(_output.WrittenMemory, cutOffSlowReader: false);
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException)
        {
            // The client left or sent too much, or the switch is stopping.
        }

        await clientGone.CancelAsync();
        await input;
    }

    /// <summary>
    /// Serves <c>capture stream</c>: the reply line, then pcapng until the capture ends by itself (count, duration)
    /// or the client half-closes the connection; either way the capture's statistics end the stream.
    /// </summary>
    private async Task StreamCaptureAsync(JsonObject args)
    {
        await using var stream = new NetworkStream(socket, ownsSocket: false);
        CaptureSession session;
        try
        {
            var options = CaptureRequest.Options(args);
            var reply = Encoding.UTF8.GetBytes(ManagementProtocol.Ok(new JsonObject { ["stream"] = "pcapng" }) + "\n");
            session = server.Ports.Captures.Start(options, new StreamCaptureOutput(stream, "stream to a management client", reply));
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // Bad arguments (or anything else that stops the capture from starting) are the client's error line.
            await SendReplyAsync(ManagementReply.Failure(ex.Message));
            return;
        }

        using var clientGone = CancellationTokenSource.CreateLinkedTokenSource(server.Stopping);
        var input = WatchInputAsync(clientGone, ManagementVerbs.CaptureStreamVerb);
        await Task.WhenAny(input, session.Completion);
        session.Stop(input.IsCompleted ? await input : session.EndReason);
        if (await Task.WhenAny(session.Completion, Task.Delay(StreamStopTimeout)) != session.Completion)
        {
            // The client stopped reading: closing the connection frees the writer.
            socket.Dispose();
            await session.Completion;
        }

        await clientGone.CancelAsync();
        await input;
    }

    /// <summary>
    /// Reads a streaming client's input to its end, throwing it away; cancels <paramref name="clientGone"/> when the input
    /// ends, fails, or passes the limit (the client is then cut off), and returns how the stream should end.
    /// </summary>
    private async Task<string> WatchInputAsync(CancellationTokenSource clientGone, string verb)
    {
        var reason = "the switch stopped it";
        try
        {
            if (await _reader.DiscardAsync(socket, ManagementOptions.StreamInputLimitBytes, clientGone.Token))
            {
                reason = "client ended it";
            }
            else
            {
                reason = "client sent data after its request";
                server.Counters.CutStreamInput();
                server.Note($"uid {caller.Uid} sent more than {ManagementOptions.StreamInputLimitBytes} bytes after its {verb} request; cut off");
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
        {
            // The stream ended first, or the client is gone.
        }

        await clientGone.CancelAsync();
        return reason;
    }
}
