using PgArchive.Diagnostics;
using Spectre.Console;

namespace PgArchive.Cli;

/// <summary>
/// A live progress display (bytes, rate, time left) on stderr for backup-push and backup-fetch when stderr
/// is a terminal; nothing when it is not (archive_command, cron, pipes), where plain log lines report instead.
/// </summary>
internal static class TerminalProgress
{
    /// <summary>True when stderr is an interactive terminal and the display was not turned off (PGARCHIVE_NO_PROGRESS).</summary>
    public static bool Enabled { get; } =
        !Console.IsErrorRedirected
        && Environment.GetEnvironmentVariable("TERM") is { Length: > 0 } term && term != "dumb"
        && string.IsNullOrEmpty(Environment.GetEnvironmentVariable("PGARCHIVE_NO_PROGRESS"));

    public static async Task<T> RunAsync<T>(string description, Func<IProgress<TransferProgress>?, Task<T>> body)
    {
        if (!Enabled)
        {
            return await body(null).ConfigureAwait(false);
        }

        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
        T result = default!;
        await console.Progress()
            .AutoClear(false)
            .Columns(
                new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new DownloadedColumn(),
                new TransferSpeedColumn(), new RemainingTimeColumn(), new SpinnerColumn())
            .StartAsync(async context =>
            {
                var task = context.AddTask(description, maxValue: 1);
                result = await body(new Reporter(task)).ConfigureAwait(false);
                task.Value = task.MaxValue;
                task.StopTask();
            }).ConfigureAwait(false);
        return result;
    }

    /// <summary>Updates the task in the caller's order (System.Progress would post out of order to the thread pool).</summary>
    private sealed class Reporter(ProgressTask task) : IProgress<TransferProgress>
    {
        public void Report(TransferProgress value)
        {
            if (value.BytesTotal is { } total && total > 0)
            {
                task.MaxValue = Math.Max(total, value.BytesDone);
            }

            task.Value = value.BytesDone;
        }
    }
}
