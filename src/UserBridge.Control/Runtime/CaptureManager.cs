using Microsoft.Extensions.Logging;
using UserBridge.Capture;
using UserBridge.Control.Config;
using UserBridge.Core.Observers;
using UserBridge.Core.Switching;

namespace UserBridge.Control.Runtime;

/// <summary>
/// The switch's taps: running captures (numbered from 1, to files the switch writes or streamed to a client) and
/// port mirrors. Captures end by themselves (count, duration, reader gone) or by <see cref="Stop"/>; each logs its
/// summary line when it ends.
/// </summary>
public sealed partial class CaptureManager(Bridge bridge, ILogger logger) : IDisposable
{
    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(5);

    private readonly Dictionary<int, CaptureSession> _sessions = [];
    private readonly List<(MirrorConfig Config, MirrorObserver Tap)> _mirrors = [];
    private readonly Lock _lock = new();
    private int _lastId;

    public CaptureSession Start(CaptureOptions options, CaptureOutput output)
    {
        ArgumentNullException.ThrowIfNull(output);
        CaptureSession session;
        lock (_lock)
        {
            try
            {
                session = CaptureSession.Start(_lastId + 1, bridge, options, output);
            }
            catch
            {
                output.Dispose();
                throw;
            }

            _lastId = session.Id;
            _sessions.Add(session.Id, session);
        }

        LogStarted(logger, session.Id, session.Description, options.Describe());
        session.Completion.ContinueWith(_ => Ended(session), TaskScheduler.Default);
        return session;
    }

    /// <summary>Starts the config file's always-on capture.</summary>
    public CaptureSession Start(CaptureConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        return Start(config.ToOptions(), new FileCaptureOutput(config.File, config.RotateBytes, config.KeepFiles));
    }

    /// <summary>Ends capture <paramref name="id"/> and waits for its statistics; null when there is no such capture.</summary>
    public CaptureSession? Stop(int id)
    {
        CaptureSession? session;
        lock (_lock)
        {
            _sessions.TryGetValue(id, out session);
        }

        if (session is not null)
        {
            session.Stop();
            session.Completion.Wait(StopTimeout);
        }

        return session;
    }

    public IReadOnlyList<CaptureSession> List()
    {
        lock (_lock)
        {
            return [.. _sessions.Values.OrderBy(session => session.Id)];
        }
    }

    /// <summary>Attaches a mirror; its ports must exist and its output must not be one of its sources.</summary>
    public void AddMirror(MirrorConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        var snapshot = bridge.Snapshot;
        foreach (var name in config.Sources.Append(config.Output))
        {
            if (snapshot.Find(name) is null)
            {
                throw new ArgumentException($"mirror: no port named '{name}'");
            }
        }

        if (config.Sources.Contains(config.Output))
        {
            throw new ArgumentException($"mirror: the output {config.Output} cannot also be a source");
        }

        var tap = config.ToTap();
        lock (_lock)
        {
            if (_mirrors.Any(mirror => mirror.Config.Output == config.Output))
            {
                throw new ArgumentException($"mirror: {config.Output} is already a mirror output");
            }

            bridge.AddObserver(tap);
            _mirrors.Add((config, tap));
        }
    }

    /// <summary>Detaches the mirror whose output is <paramref name="output"/>; false when there is none.</summary>
    public bool RemoveMirror(string output)
    {
        MirrorObserver tap;
        lock (_lock)
        {
            var index = _mirrors.FindIndex(mirror => mirror.Config.Output == output);
            if (index < 0)
            {
                return false;
            }

            tap = _mirrors[index].Tap;
            _mirrors.RemoveAt(index);
        }

        bridge.RemoveObserver(tap);
        return true;
    }

    public IReadOnlyList<MirrorConfig> Mirrors()
    {
        lock (_lock)
        {
            return [.. _mirrors.Select(mirror => mirror.Config)];
        }
    }

    public void Dispose()
    {
        foreach (var session in List())
        {
            session.Stop("switch stopping");
        }

        foreach (var session in List())
        {
            session.Completion.Wait(StopTimeout);
        }
    }

    private void Ended(CaptureSession session)
    {
        lock (_lock)
        {
            _sessions.Remove(session.Id);
        }

        LogEnded(logger, session.Summary());
        session.Dispose();
    }

    [LoggerMessage(EventId = 300, Level = LogLevel.Information, Message = "capture {Id} started: {Output}; {Selection}")]
    private static partial void LogStarted(ILogger logger, int id, string output, string selection);

    [LoggerMessage(EventId = 301, Level = LogLevel.Information, Message = "{Summary}")]
    private static partial void LogEnded(ILogger logger, string summary);
}
