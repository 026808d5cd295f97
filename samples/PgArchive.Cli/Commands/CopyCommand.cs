using System.CommandLine;
using System.Globalization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using PgArchive.Backups;
using PgArchive.Cli.Configuration;
using PgArchive.Cli.Storage;
using PgArchive.Encryption;

namespace PgArchive.Cli.Commands;

/// <summary>
/// WAL-G's <c>copy</c>: backups with the WAL their restore needs, from the store one config file names to the store
/// another names, objects copied as stored (never decompressed), resumable. When the two configs encrypt differently,
/// <c>--re-encrypt</c> decrypts with the source's key and encrypts with the destination's on the way; without it the
/// copy is refused, since the destination would not be readable with its own settings.
/// </summary>
internal static class CopyCommand
{
    public static Command Create(GlobalOptions global)
    {
        var from = new Option<string>("--from", "-f") { Description = "A WAL-G JSON config file naming the store to copy from.", Required = true };
        var to = new Option<string>("--to", "-t") { Description = "A WAL-G JSON config file naming the store to copy to.", Required = true };
        var backup = new Option<string?>("--backup-name", "-b") { Description = "The backup to copy (a name or LATEST); every complete backup when left out." };
        var history = new Option<bool>("--with-history", "-w")
        {
            Description = "Also copy every WAL segment of the backup's timeline archived after it, up to the newest one there when the copy starts.",
        };
        var reencrypt = new Option<bool>("--re-encrypt")
        {
            Description = "When --from and --to encrypt differently (another key, another method, or none), decrypt each payload with the --from key and encrypt it with the --to one.",
        };
        var command = new Command("copy", "Copy backups, their delta chains and the WAL their restore needs to another store, byte for byte (re-encrypted with --re-encrypt); objects already there are never replaced.")
        {
            from, to, backup, history, reencrypt,
        };
        command.SetAction((parseResult, cancellationToken) => CommandRunner.GuardAsync(async () =>
        {
            var source = CommandRunner.Load(parseResult, global, ConfigFile(parseResult.GetValue(from)!, "--from"));
            var destination = CommandRunner.Load(parseResult, global, ConfigFile(parseResult.GetValue(to)!, "--to"));
            var location = StorageBackends.Location(source);
            if (location == StorageBackends.Location(destination))
            {
                throw new PgArchiveConfigurationException($"--from and --to name the same store ({location}): copy needs two different stores.");
            }

            var sourceServices = CliHost.Build(source, CommandRunner.LogLevelFrom(source, LogLevel.Warning));
            await using (sourceServices.ConfigureAwait(false))
            {
                var destinationServices = CliHost.Build(destination, CommandRunner.LogLevelFrom(destination, LogLevel.Warning));
                await using (destinationServices.ConfigureAwait(false))
                {
                    var copier = new ArchiveCopier(StorageToolsCommands.Store(sourceServices), sourceServices.Get<IEncryptor>(),
                        StorageToolsCommands.Store(destinationServices), destinationServices.Get<IEncryptor>(), sourceServices.Get<ILoggerFactory>().CreateLogger<ArchiveCopier>());
                    if (copier.ReEncrypts && !parseResult.GetValue(reencrypt))
                    {
                        throw new PgArchiveConfigurationException(
                            $"--from and --to encrypt differently ({Method(sourceServices.Get<IEncryptor>(), destinationServices.Get<IEncryptor>())}): a byte-for-byte copy " +
                            "would not be readable with the --to settings; add --re-encrypt to decrypt with the --from key and encrypt with the --to one, or give both the same encryption settings.");
                    }

                    var concurrency = sourceServices.Get<IOptions<PgArchiveOptions>>().Value.UploadConcurrency;
                    var result = await copier.CopyAsync(parseResult.GetValue(backup), parseResult.GetValue(history), concurrency, cancellationToken).ConfigureAwait(false);
                    await Console.Error.WriteLineAsync(Summary(result)).ConfigureAwait(false);
                    return ExitCodes.Success;
                }
            }
        }, cancellationToken));
        return command;
    }

    private static string Summary(ArchiveCopyResult result) => result switch
    {
        { Backups.Count: 0 } => "copy: no backup in the source, nothing copied.",
        { Copied: 0 } => string.Create(CultureInfo.InvariantCulture,
            $"copy: nothing to copy: all {result.Skipped} objects of {string.Join(", ", result.Backups)} are already in the destination."),
        _ => string.Create(CultureInfo.InvariantCulture,
            $"copy: {result.Copied} objects copied{(result.ReEncrypted ? ", payloads re-encrypted," : "")} ({result.BytesCopied} bytes), {result.Skipped} skipped (already in the destination); backups {string.Join(", ", result.Backups)}."),
    };

    /// <summary>How two encryptors differ, by method (<c>libsodium</c>, <c>pgp</c>, <c>none</c>), never by key.</summary>
    private static string Method(IEncryptor from, IEncryptor to)
    {
        static string Of(IEncryptor encryptor) => encryptor.KeyIdentity.Split(':')[0];
        return Of(from) == Of(to) ? $"two {Of(from)} keys" : $"--from {Of(from)}, --to {Of(to)}";
    }

    /// <summary>The config file of <paramref name="option"/>; a missing one is a configuration error naming the option (WalgSettings names an unreadable one).</summary>
    private static string ConfigFile(string path, string option) =>
        File.Exists(path) ? path : throw new PgArchiveConfigurationException($"{option} '{path}': no such config file.");
}
