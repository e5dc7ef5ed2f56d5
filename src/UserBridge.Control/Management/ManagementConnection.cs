using System.Buffers;
using System.Net.Sockets;
using System.Text.Json;

namespace UserBridge.Control.Management;

/// <summary>
/// One management client: its requests in order, each reply sent before the next request is read, until it closes; or
/// the stream that a <c>monitor</c> or <c>capture stream</c> request turns the connection into. Runs on the management
/// thread (every <c>await</c> here comes back to it).
/// </summary>
/// <remarks>
/// What a client can make the switch hold is bounded whatever it does: its request buffer (<see cref="RequestReader"/>),
/// one reply at a time, sent in pieces of <see cref="PieceBytes"/> that are written only when the last one is gone, and
/// its socket's own buffer. A client that does not take a piece within the reply deadline is cut off (and counted); one
/// that leaves makes the next send fail, which ends the work for it.
/// </remarks>
internal sealed partial class ManagementConnection(ManagementServer server, Socket socket, ManagementCaller caller) : IDisposable
{
    /// <summary>A reply is written and sent this much at a time.</summary>
    private const int PieceBytes = 16 * 1024;

    private readonly RequestReader _reader = new();
    private readonly Utf8JsonWriter _json = new(Stream.Null);
    private ArrayBufferWriter<byte> _output = new(PieceBytes);

    public async Task RunAsync()
    {
        while (true)
        {
            ReadOnlyMemory<byte>? line;
            try
            {
                line = await _reader.ReadLineAsync(socket, server.Stopping);
            }
            catch (ManagementException ex)
            {
                // The rest of an oversized line cannot be told from the next request: answer, then close.
                server.Counters.CutLongRequest();
                await SendReplyAsync(ManagementReply.Failure($"{ex.Message}; closing this connection"));
                throw;
            }

            if (line is not { } requestLine)
            {
                return;
            }

            var request = ManagementProtocol.Parse(requestLine.Span);
            switch (request.Verb?.Name)
            {
                case ManagementVerbs.MonitorVerb:
                    await StreamEventsAsync();
                    return;
                case ManagementVerbs.CaptureStreamVerb:
                    await StreamCaptureAsync(request.Args);
                    return;
            }

            if (!await SendReplyAsync(ManagementProtocol.Execute(server.Ports, request, caller, server.Counters, server.Logger)))
            {
                return;
            }
        }
    }

    public void Dispose()
    {
        _reader.Dispose();
        _json.Dispose();
    }

    /// <summary>Writes and sends <paramref name="reply"/> a piece at a time; false when the client was cut off instead.</summary>
    private async Task<bool> SendReplyAsync(ManagementReply reply)
    {
        _json.Reset(_output);
        bool complete;
        do
        {
            complete = reply.Write(_json, PieceBytes);
            _json.Flush();
            if (complete)
            {
                _output.Write("\n"u8);
            }

            if (!await SendAsync(_output.WrittenMemory, cutOffSlowReader: true))
            {
                return false;
            }

            _output.ResetWrittenCount();
        }
        while (!complete);

        // A reply of one large value (a long vlan show) grew the buffer: leave it to the collector, keep a piece's worth.
        if (_output.Capacity > 4 * PieceBytes)
        {
            _output = new ArrayBufferWriter<byte>(PieceBytes);
        }

        return true;
    }

    /// <summary>
    /// Sends <paramref name="bytes"/> a piece at a time. With <paramref name="cutOffSlowReader"/>, a piece the client does
    /// not take within the reply deadline cuts it off: false, counted and logged.
    /// </summary>
    private async Task<bool> SendAsync(ReadOnlyMemory<byte> bytes, bool cutOffSlowReader)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(server.Stopping);
        for (var offset = 0; offset < bytes.Length; offset += PieceBytes)
        {
            if (cutOffSlowReader)
            {
                deadline.CancelAfter(server.Options.ReplyDeadline);
            }

            try
            {
                await socket.SendAsync(bytes.Slice(offset, Math.Min(PieceBytes, bytes.Length - offset)), SocketFlags.None, deadline.Token);
            }
            catch (OperationCanceledException) when (!server.Stopping.IsCancellationRequested)
            {
                server.Counters.CutSlowReader();
                server.Note($"uid {caller.Uid} took none of its reply for {server.Options.ReplyDeadline.TotalSeconds:0.#} s; cut off");
                return false;
            }
        }

        return true;
    }
}
