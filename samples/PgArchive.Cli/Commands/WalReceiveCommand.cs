using System.CommandLine;
using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using PgArchive.Storage;
using PgArchive.Streaming;

namespace PgArchive.Cli.Commands;

/// <summary><c>wal-receive</c>: WAL streamed over the replication protocol into the archive (WAL-G's command).</summary>
internal static class WalReceiveCommand
{
    public static Command Create(GlobalOptions global)
    {
        var slot = new Option<string?>("--slot") { Description = "The physical replication slot (default WALG_SLOTNAME, else walg, as WAL-G)." };
        var noSlot = new Option<bool>("--no-slot") { Description = "Stream without a slot: WAL the server recycles while wal-receive is away is then missing." };
        var createSlot = new Option<bool>("--create-slot") { Description = "Create the slot (reserving WAL at once) if the server has none of that name; otherwise a missing slot is an error." };
        var flushInterval = new Option<string?>("--flush-interval") { Description = "Store the segment in progress as .partial at least this often: 1s (default), 500ms, 2.5 (seconds)." };
        var flushBytes = new Option<string?>("--flush-bytes") { Description = "Also store it whenever this much arrived since: 4MiB, 1048576 (default off)." };
        var synchronous = new Option<bool>("--synchronous")
        {
            Description = "Store every batch at once and report it flushed only then: name the application name in synchronous_standby_names for commits that return only once their WAL is in the archive.",
        };
        var applicationName = new Option<string?>("--application-name") { Description = "The application_name to connect with (default pgarchive)." };
        var command = new Command("wal-receive",
            "Stream WAL from the server (libpq's PGHOST, PGPORT, PGUSER, ...; a role with REPLICATION) into the archive until interrupted.")
        {
            slot, noSlot, createSlot, flushInterval, flushBytes, synchronous, applicationName,
        };
        command.SetAction((parseResult, cancellationToken) => CommandRunner.RunAsync(parseResult, global, LogLevel.Information,
            async (services, settings, ct) =>
            {
                var options = new WalReceiverOptions
                {
                    SlotName = parseResult.GetValue(noSlot) ? null : parseResult.GetValue(slot) ?? settings.Get("WALG_SLOTNAME") ?? "walg",
                    CreateSlot = parseResult.GetValue(createSlot),
                    Synchronous = parseResult.GetValue(synchronous),
                    FlushInterval = Duration(parseResult.GetValue(flushInterval), "--flush-interval") ?? TimeSpan.FromSeconds(1),
                    FlushBytes = Size(parseResult.GetValue(flushBytes), "--flush-bytes") ?? 0,
                    ApplicationName = parseResult.GetValue(applicationName) ?? "pgarchive",
                };
                using var receiver = new WalReceiver(
                    PgArchiveServiceCollectionExtensions.ArchiveStore(services),
                    services.Get<ObjectCodec>(), Options.Create(options), services.Get<IOptions<PgArchiveOptions>>(),
                    services.Get<ILogger<WalReceiver>>(), services.Get<TimeProvider>());
                await receiver.RunAsync(ct).ConfigureAwait(false);
                return ExitCodes.Success;
            }, cancellationToken));
        return command;
    }

    /// <summary>"1s", "500ms", "2m", "2.5" (seconds).</summary>
    internal static TimeSpan? Duration(string? text, string option)
    {
        if (text is null)
        {
            return null;
        }

        var (number, unit) = Split(text);
        var value = double.TryParse(number, NumberStyles.Float, CultureInfo.InvariantCulture, out var parsed) && parsed >= 0 ? parsed : double.NaN;
        var span = unit switch
        {
            "" or "s" => TimeSpan.FromSeconds(value),
            "ms" => TimeSpan.FromMilliseconds(value),
            "min" or "m" => TimeSpan.FromMinutes(value),
            _ => (TimeSpan?)null,
        };
        return double.IsNaN(value) || span is null
            ? throw new PgArchiveConfigurationException($"{option} '{text}' is not a duration: write 1s, 500ms, 2m or a number of seconds.")
            : span;
    }

    /// <summary>"4MiB", "4MB", "512kB", "1048576".</summary>
    internal static long? Size(string? text, string option)
    {
        if (text is null)
        {
            return null;
        }

        var (number, unit) = Split(text);
        var shift = unit.ToUpperInvariant() switch
        {
            "" or "B" => 0,
            "K" or "KB" or "KIB" => 10,
            "M" or "MB" or "MIB" => 20,
            "G" or "GB" or "GIB" => 30,
            _ => -1,
        };
        return shift >= 0 && long.TryParse(number, NumberStyles.None, CultureInfo.InvariantCulture, out var value) && value <= long.MaxValue >> shift
            ? value << shift
            : throw new PgArchiveConfigurationException($"{option} '{text}' is not a size: write 4MiB, 512kB or a number of bytes.");
    }

    private static (string Number, string Unit) Split(string text)
    {
        var trimmed = text.Trim();
        var end = 0;
        while (end < trimmed.Length && (char.IsAsciiDigit(trimmed[end]) || trimmed[end] == '.'))
        {
            end++;
        }

        return (trimmed[..end], trimmed[end..].Trim());
    }
}
