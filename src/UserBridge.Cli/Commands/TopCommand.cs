using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using Spectre.Console;
using UserBridge.Cli.Output;
using UserBridge.Control.Config;
using UserBridge.Control.Management;

namespace UserBridge.Cli.Commands;

/// <summary>
/// <c>userbridge top</c>: every port's packet and bit rates, drops and floods, refreshed live. On a terminal a table
/// (Spectre.Console) sorted by a key the user presses, q or Ctrl-C to quit; otherwise one block of plain lines per
/// refresh.
/// </summary>
internal static class TopCommand
{
    /// <summary>The shortest refresh: a faster one would measure rates over too few frames and cost the switch replies.</summary>
    private const double MinInterval = 0.1;

    private const int MaxRefreshes = 1_000_000;

    public static Command Create()
    {
        var common = new CommonOptions();
        var interval = new Option<double>("--interval", "-i") { Description = $"seconds between refreshes ({MinInterval} to {Limits.MaxDurationSeconds})", DefaultValueFactory = _ => 1 }
            .Within(MinInterval, Limits.MaxDurationSeconds, " seconds");
        var count = new Option<int>("--count", "-c") { Description = $"refresh this many times, then exit (0: until q or Ctrl-C; at most {MaxRefreshes})" }
            .Within(0, MaxRefreshes, " (0: until q or Ctrl-C)");
        var sort = new Option<string>("--sort") { Description = $"the starting sort: {string.Join(", ", PortRate.SortKeys.Select(key => $"{key.Key} = {key.Column}"))}", DefaultValueFactory = _ => "n" };
        sort.AcceptOnlyFromAmong([.. PortRate.SortKeys.Select(key => key.Key.ToString())]);
        var top = new Command("top", "a live view of every port's rates, drops and floods (keys: n r t b d f sort, q quits)") { interval, count, sort };
        common.AddTo(top);
        top.SetAction(result =>
        {
            var path = common.SocketPath(result);
            var period = TimeSpan.FromSeconds(result.GetValue(interval));
            using var signals = new ShutdownSignals();
            var view = new View(path, period, result.GetValue(count), result.GetValue(sort)![0], signals.Token);
            try
            {
                if (!Console.IsOutputRedirected && AnsiConsole.Profile.Capabilities.Interactive)
                {
                    view.Live();
                }
                else
                {
                    view.Plain();
                }

                return ExitCodes.Success;
            }
            catch (ManagementException ex)
            {
                Console.Error.WriteLine($"userbridge top: {ex.Message}");
                return ExitCodes.Failure;
            }
        });
        return top;
    }

    private sealed class View(string path, TimeSpan period, int count, char sort, CancellationToken stop)
    {
        private readonly Stopwatch _clock = Stopwatch.StartNew();
        private JsonArray? _previous;
        private TimeSpan _previousAt;
        private char _sort = sort;

        public void Plain()
        {
            for (var refresh = 1; !stop.IsCancellationRequested; refresh++)
            {
                var rates = Read();
                Console.WriteLine($"{DateTime.Now.ToString("HH:mm:ss", CultureInfo.InvariantCulture)}  {rates.Count} port(s)");
                Console.Write(PortRate.Text(rates));
                if (refresh == count || stop.WaitHandle.WaitOne(period))
                {
                    return;
                }
            }
        }

        public void Live()
        {
            var table = new Table().Border(TableBorder.Rounded);
            foreach (var column in PortRate.Header)
            {
                table.AddColumn(new TableColumn(column) { Alignment = column is "PORT" or "STATE" ? Justify.Left : Justify.Right });
            }

            AnsiConsole.Live(table).Start(context =>
            {
                for (var refresh = 1; !stop.IsCancellationRequested; refresh++)
                {
                    var rates = Read();
                    table.Rows.Clear();
                    foreach (var rate in rates)
                    {
                        table.AddRow(rate.Cells().Select(cell => new Text(cell)));
                    }

                    var column = PortRate.SortKeys.FirstOrDefault(key => key.Key == _sort).Column ?? "port";
                    table.Caption = new TableTitle($"{DateTime.Now.ToString("HH:mm:ss", CultureInfo.InvariantCulture)}  sorted by {column}  (n r t b d f: sort, q: quit)");
                    context.Refresh();
                    if (refresh == count || WaitForKey())
                    {
                        return;
                    }
                }
            });
        }

        private List<PortRate> Read()
        {
            var rows = (JsonArray)ManagementClient.Call(path, "port show");
            var now = _clock.Elapsed;
            var rates = PortRate.Between(_previous, rows, now - _previousAt);
            _previous = rows;
            _previousAt = now;
            return PortRate.Sort(rates, _sort);
        }

        /// <summary>Waits out the period, taking sort keys; true when the user asked to quit.</summary>
        private bool WaitForKey()
        {
            var until = _clock.Elapsed + period;
            while (_clock.Elapsed < until)
            {
                if (stop.IsCancellationRequested)
                {
                    return true;
                }

                while (!Console.IsInputRedirected && Console.KeyAvailable)
                {
                    var key = char.ToLowerInvariant(Console.ReadKey(intercept: true).KeyChar);
                    if (key == 'q')
                    {
                        return true;
                    }

                    if (PortRate.SortKeys.Any(sortKey => sortKey.Key == key))
                    {
                        _sort = key;
                        return false;
                    }
                }

                stop.WaitHandle.WaitOne(TimeSpan.FromMilliseconds(50));
            }

            return false;
        }
    }
}
