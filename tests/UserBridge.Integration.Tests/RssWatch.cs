namespace UserBridge.Integration.Tests;

/// <summary>
/// Samples a process's resident memory every 50 ms and keeps the peak; <see cref="Exceeded"/> turns true once the peak
/// passes a ceiling, so that a test can stop a runaway before it takes the machine's memory.
/// </summary>
internal sealed class RssWatch : IDisposable
{
    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(50);

    private readonly int _pid;
    private readonly long _ceilingKib;
    private readonly Timer _timer;
    private long _peakKib;

    private RssWatch(int pid, long ceilingKib)
    {
        _pid = pid;
        _ceilingKib = ceilingKib;
        _peakKib = ProcessStatus.RssKib(pid);
        _timer = new Timer(_ => Sample(), null, TimeSpan.Zero, Interval);
    }

    public long PeakKib
    {
        get
        {
            Sample();
            return Interlocked.Read(ref _peakKib);
        }
    }

    public bool Exceeded => Interlocked.Read(ref _peakKib) > _ceilingKib;

    public static RssWatch Start(int pid, long ceilingKib) => new(pid, ceilingKib);

    public void Dispose() => _timer.Dispose();

    private void Sample()
    {
        try
        {
            var rss = ProcessStatus.RssKib(_pid);
            long peak;
            while (rss > (peak = Interlocked.Read(ref _peakKib)) && Interlocked.CompareExchange(ref _peakKib, rss, peak) != peak)
            {
            }
        }
        catch (IOException)
        {
            // The process is gone: its peak is what was seen.
        }
    }
}
