using System.CommandLine;
using Microsoft.Extensions.Logging;
using PgArchive.Cli.Configuration;
using PgArchive.PostgresTypes;
using PgArchive.Wal;

namespace PgArchive.Cli.Commands;

/// <summary><c>wal-push</c> and <c>wal-fetch</c>: PostgreSQL's archive_command and restore_command.</summary>
internal static class WalCommands
{
    public static Command Push(GlobalOptions global)
    {
        var path = new Argument<string>("path") { Description = "The WAL file PostgreSQL archives (%p)." };
        var targetStorage = WalGFlags.TargetStorage();
        var command = new Command("wal-push", "Archive one WAL file: archive_command = 'pgarchive wal-push %p'. Exits 0 only once it is durably stored.") { path, targetStorage };
        command.SetAction((parseResult, cancellationToken) =>
        {
            // The fast path: a segment an earlier call uploaded ahead to the same archive, unchanged since, needs no store
            // (nor a --target-storage to check).
            if (parseResult.GetValue(targetStorage) is null && FastPathScope(parseResult, global) is { } scope && WalUploadMarkers.TryConsume(parseResult.GetValue(path)!, scope))
            {
                return Task.FromResult(ExitCodes.Success);
            }

            return CommandRunner.RunAsync(parseResult, global, LogLevel.Warning,
                async (services, settings, ct) =>
                {
                    WalGFlags.CheckTargetStorage(parseResult, targetStorage, settings);
                    var concurrency = ArchiveSettingsMapper.WalUploadConcurrency(settings);
                    await services.Get<WalReadyUploader>().PushAsync(parseResult.GetValue(path)!, concurrency,
                        scope: ArchiveScope(settings), cancellationToken: ct).ConfigureAwait(false);
                    return ExitCodes.Success;
                }, cancellationToken);
        });
        return command;
    }

    /// <summary>
    /// Names the archive the settings reach: a hash of the archive settings (storage, compression, encryption,
    /// authentication), leaving out the values of secrets (keys, passwords, tokens), so a marker never carries them;
    /// the authentication key counts by its identity, so a marker written without authentication or with another key
    /// never lets a push skip the segment's authentication record.
    /// </summary>
    internal static string ArchiveScope(WalgSettings settings)
    {
        var text = new System.Text.StringBuilder();
        if (ArchiveSettingsMapper.AuthenticationIdentity(settings) is { } authentication)
        {
            text.Append("authentication=").Append(authentication).Append('\n');
        }

        foreach (var (name, value) in settings.ArchiveSettings())
        {
            var secret = name.Contains("KEY", StringComparison.Ordinal) || name.Contains("SECRET", StringComparison.Ordinal)
                || name.Contains("PASSWORD", StringComparison.Ordinal) || name.Contains("TOKEN", StringComparison.Ordinal)
                || name.Contains("PASSPHRASE", StringComparison.Ordinal);
            text.Append(name).Append('=').Append(secret ? "" : value).Append('\n');
        }

        return "archive:" + Convert.ToHexStringLower(System.IO.Hashing.XxHash128.Hash(System.Text.Encoding.UTF8.GetBytes(text.ToString())));
    }

    private static string? FastPathScope(ParseResult parseResult, GlobalOptions global)
    {
        try
        {
            return ArchiveScope(WalgSettings.Load(parseResult.GetValue(global.Config), parseResult.GetValue(global.EnvDirectory)));
        }
        catch (PgArchiveConfigurationException)
        {
            return null; // the normal path reports it
        }
    }

    public static Command Fetch(GlobalOptions global)
    {
        var name = new Argument<string>("name") { Description = "The WAL file PostgreSQL asks for (%f)." };
        var destination = new Argument<string>("destination") { Description = "Where PostgreSQL wants it (%p)." };
        var targetStorage = WalGFlags.TargetStorage();
        var command = new Command("wal-fetch", "Fetch one WAL file: restore_command = 'pgarchive wal-fetch %f %p'. Exits 74 when the archive does not have it.")
        {
            name, destination, targetStorage,
        };
        command.SetAction((parseResult, cancellationToken) => CommandRunner.RunAsync(parseResult, global, LogLevel.Warning,
            async (services, settings, ct) =>
            {
                WalGFlags.CheckTargetStorage(parseResult, targetStorage, settings);
                var walFile = parseResult.GetValue(name)!;
                var target = parseResult.GetValue(destination)!;
                var prefetchDirectory = settings.Get("WALG_PREFETCH_DIR") ?? WalPrefetcher.DefaultDirectory(target);
                if (!WalPrefetcher.TryTake(prefetchDirectory, walFile, target))
                {
                    await services.Get<WalArchiver>().FetchAsync(walFile, target, ct).ConfigureAwait(false);
                }

                StartPrefetch(parseResult, global, walFile, prefetchDirectory);
                return ExitCodes.Success;
            }, cancellationToken));
        return command;
    }

    /// <summary>
    /// <c>wal-prefetch NAME DIR</c>, run by wal-fetch in the background (not listed): downloads the segments after
    /// NAME into DIR (WALG_DOWNLOAD_CONCURRENCY of them, as many at once).
    /// </summary>
    public static Command Prefetch(GlobalOptions global)
    {
        var name = new Argument<string>("name") { Description = "The segment just fetched." };
        var directory = new Argument<string>("directory") { Description = "The prefetch directory." };
        var command = new Command("wal-prefetch", "Download the segments that follow NAME into the prefetch directory (run by wal-fetch).") { name, directory };
        command.Hidden = true;
        command.SetAction((parseResult, cancellationToken) => CommandRunner.RunAsync(parseResult, global, LogLevel.Warning,
            async (services, settings, ct) =>
            {
                var options = services.Get<Microsoft.Extensions.Options.IOptions<PgArchiveOptions>>().Value;
                await services.Get<WalPrefetcher>().PrefetchAsync(parseResult.GetValue(name)!, parseResult.GetValue(directory)!,
                    options.DownloadConcurrency, options.DownloadConcurrency, ct).ConfigureAwait(false);
                return ExitCodes.Success;
            }, cancellationToken));
        return command;
    }

    /// <summary>Starts <c>wal-prefetch</c> detached (its own session, no stdio), so that PostgreSQL does not wait for it.</summary>
    private static void StartPrefetch(ParseResult parseResult, GlobalOptions global, string walFile, string prefetchDirectory)
    {
        if (!WalSegment.TryParse(walFile, out _) || Environment.ProcessPath is not { } self || OperatingSystem.IsWindows())
        {
            return;
        }

        var start = new System.Diagnostics.ProcessStartInfo("/bin/sh") { UseShellExecute = false };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add("exec \"$@\" </dev/null >/dev/null 2>&1 &");
        start.ArgumentList.Add("sh");
        start.ArgumentList.Add(self);
        if (parseResult.GetValue(global.Config) is { } config)
        {
            start.ArgumentList.Add("--config");
            start.ArgumentList.Add(config);
        }

        if (parseResult.GetValue(global.EnvDirectory) is { } envDirectory)
        {
            start.ArgumentList.Add("--envdir");
            start.ArgumentList.Add(envDirectory);
        }

        start.ArgumentList.Add("wal-prefetch");
        start.ArgumentList.Add(walFile);
        start.ArgumentList.Add(prefetchDirectory);
        try
        {
            using var shell = System.Diagnostics.Process.Start(start);
            shell?.WaitForExit(); // the shell returns at once, leaving wal-prefetch running in the background
        }
        catch (System.ComponentModel.Win32Exception)
        {
            // No shell: no prefetch; every segment is then downloaded when asked.
        }
    }
}
