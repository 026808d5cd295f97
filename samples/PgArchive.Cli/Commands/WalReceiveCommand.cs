using System.CommandLine;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using PgArchive.Cli.Configuration;
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
                    FlushInterval = SettingText.Duration(parseResult.GetValue(flushInterval), "--flush-interval") ?? TimeSpan.FromSeconds(1),
                    FlushBytes = SettingText.Size(parseResult.GetValue(flushBytes), "--flush-bytes") ?? 0,
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
}
