using UserBridge.Control.Config;

namespace UserBridge.Control.Runtime;

/// <summary>
/// The steps of one change of the running configuration, each done with its undo, and a model of what runs kept
/// step by step: <see cref="Running"/> is what the switch runs after every step that succeeded or was undone, whatever
/// failed. <see cref="ConfigApplier"/> runs the steps; when one throws, <see cref="RollBack"/> undoes the others in
/// reverse order, and an undo that fails too leaves its part of the model as it then is (a port that could not be
/// re-opened is not running, so it is not in the model), so the recorded config never claims what does not run.
/// </summary>
internal sealed class ConfigTransaction(SwitchConfig current)
{
    private readonly Stack<(string Undoing, Action Undo, Action Unrecord)> _done = new();
    private readonly List<PortConfig> _ports = [.. current.Ports];
    private readonly List<MirrorConfig> _mirrors = [.. current.Mirrors];
    private CaptureConfig? _capture = current.Capture;

    /// <summary>The configuration that runs now: the one the change started from, with the steps done so far.</summary>
    public SwitchConfig Running => current with { Ports = [.. _ports], Mirrors = [.. _mirrors], Capture = _capture };

    public void OpenPort(PortConfig port, Action open, Action close) =>
        Run($"close port {port.Name} again", open, close, () => _ports.Add(port), () => _ports.RemoveAll(running => running.Name == port.Name));

    public void ClosePort(PortConfig port, Action close, Action open)
    {
        var index = _ports.FindIndex(running => running.Name == port.Name);
        Run($"re-open port {port.Name} as it was", close, open, () => _ports.RemoveAt(index), () => _ports.Insert(Math.Min(index, _ports.Count), port));
    }

    /// <summary>A port changed in place (its VLAN settings or guards): <paramref name="after"/> replaces <paramref name="before"/>.</summary>
    public void ChangePort(PortConfig before, PortConfig after, Action change, Action changeBack) =>
        Run($"change port {before.Name} back", change, changeBack, () => Replace(after), () => Replace(before));

    public void AddMirror(MirrorConfig mirror, Action add, Action remove) =>
        Run($"remove the mirror to {mirror.Output} again", add, remove, () => _mirrors.Add(mirror), () => _mirrors.Remove(mirror));

    public void RemoveMirror(MirrorConfig mirror, Action remove, Action add)
    {
        var index = _mirrors.IndexOf(mirror);
        Run($"put the mirror to {mirror.Output} back", remove, add, () => _mirrors.RemoveAt(index), () => _mirrors.Insert(Math.Min(index, _mirrors.Count), mirror));
    }

    public void StartCapture(CaptureConfig capture, Action start, Action stop) =>
        Run("stop the new capture", start, stop, () => _capture = capture, () => _capture = null);

    public void StopCapture(CaptureConfig capture, Action stop, Action start) =>
        Run("start the capture again", stop, start, () => _capture = null, () => _capture = capture);

    /// <summary>
    /// Undoes every step done, last first; returns the undos that failed, each with its error (empty: the switch runs
    /// what it ran before the change).
    /// </summary>
    public List<string> RollBack()
    {
        var failures = new List<string>();
        while (_done.TryPop(out var step))
        {
            try
            {
                step.Undo();
                step.Unrecord();
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                failures.Add($"could not {step.Undoing} ({ex.Message})");
            }
        }

        return failures;
    }

    private void Run(string undoing, Action apply, Action undo, Action record, Action unrecord)
    {
        apply();
        record();
        _done.Push((undoing, undo, unrecord));
    }

    private void Replace(PortConfig port) => _ports[_ports.FindIndex(running => running.Name == port.Name)] = port;
}
