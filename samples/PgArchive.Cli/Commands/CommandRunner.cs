using System.CommandLine;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using PgArchive.Cli.Configuration;
using PgArchive.Cli.Native;
using PgArchive.Wal;

namespace PgArchive.Cli.Commands;

/// <summary>
/// Runs a command's body inside the configured services and turns failures into one line on stderr and a
/// documented exit code: expected failures never print a stack trace.
/// </summary>
internal static class CommandRunner
{
    public static async Task<int> RunAsync(ParseResult parseResult, GlobalOptions global, LogLevel defaultLevel,
        Func<IServiceProvider, WalgSettings, CancellationToken, Task<int>> body, CancellationToken cancellationToken) =>
        await GuardAsync(async () =>
        {
            var settings = Load(parseResult, global, parseResult.GetValue(global.Config));
            // The connections to PostgreSQL (and Npgsql's own look-ups of PGPASSWORD, PGPASSFILE, PGSSLCERT, ...) read libpq's
            // variables from the process environment: the config file's and envdir's are put there first.
            settings.ExportLibpqEnvironment();
            var services = CliHost.Build(settings, LogLevelFrom(settings, defaultLevel));
            await using (services.ConfigureAwait(false))
            {
                return await body(services, settings, cancellationToken).ConfigureAwait(false);
            }
        }, cancellationToken).ConfigureAwait(false);

    /// <summary>
    /// The settings from <paramref name="configFile"/> (the --config file when it is the global option's), the environment
    /// and --envdir, with --turbo applied.
    /// </summary>
    public static WalgSettings Load(ParseResult parseResult, GlobalOptions global, string? configFile)
    {
        var settings = WalgSettings.Load(configFile, parseResult.GetValue(global.EnvDirectory));
        return parseResult.GetValue(global.Turbo)
            // WAL-G under --turbo: no rate limits, and GetMaxUploadDiskConcurrency's 4 readers.
            ? settings.With("WALG_UPLOAD_DISK_CONCURRENCY", "4").With("WALG_DISK_RATE_LIMIT", "").With("WALG_NETWORK_RATE_LIMIT", "")
            : settings;
    }

    /// <summary>Runs <paramref name="body"/>, turning expected failures into one line on stderr and their exit code.</summary>
    public static async Task<int> GuardAsync(Func<Task<int>> body, CancellationToken cancellationToken)
    {
        try
        {
            return await body().ConfigureAwait(false);
        }
        catch (WalFileNotFoundException ex)
        {
            await Console.Error.WriteLineAsync(ex.Message).ConfigureAwait(false);
            return ExitCodes.NotInArchive;
        }
        catch (PgArchiveConfigurationException ex)
        {
            await Console.Error.WriteLineAsync("pgarchive: configuration error: " + ex.Message).ConfigureAwait(false);
            return ExitCodes.Usage;
        }
        catch (PgArchiveException ex)
        {
            await Console.Error.WriteLineAsync("pgarchive: error: " + ex.Message).ConfigureAwait(false);
            return ExitCodes.Failure;
        }
        catch (InvalidDataException ex)
        {
            // Stored bytes a decryptor or decompressor refuses (another key, corruption): its message says which check failed.
            await Console.Error.WriteLineAsync("pgarchive: error: " + ex.Message.ReplaceLineEndings(" ")).ConfigureAwait(false);
            return ExitCodes.Failure;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Local file trouble (disk full, permissions): the OS's message says what and where.
            await Console.Error.WriteLineAsync("pgarchive: error: " + ex.Message.ReplaceLineEndings(" ")).ConfigureAwait(false);
            return ExitCodes.Failure;
        }
        catch (Exception ex) when (EmbeddedLibsodium.DescribeLoadFailure(ex) is { } libsodium)
        {
            await Console.Error.WriteLineAsync("pgarchive: error: " + libsodium).ConfigureAwait(false);
            return ExitCodes.Failure;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            await Console.Error.WriteLineAsync("pgarchive: interrupted").ConfigureAwait(false);
            return ExitCodes.Cancelled;
        }
        catch (Exception ex) when (Environment.GetEnvironmentVariable("PGARCHIVE_DEBUG") is not "1")
        {
            await Console.Error.WriteLineAsync($"pgarchive: unexpected error ({ex.GetType().Name}): {ex.Message} (set PGARCHIVE_DEBUG=1 for details)").ConfigureAwait(false);
            return ExitCodes.Failure;
        }
    }

    /// <summary>WALG_LOG_LEVEL (NORMAL | DEVEL | ERROR, as WAL-G) or PGARCHIVE_LOG_LEVEL (a .NET level name) over the command's default.</summary>
    public static LogLevel LogLevelFrom(WalgSettings settings, LogLevel defaultLevel)
    {
        if (settings.Get("PGARCHIVE_LOG_LEVEL") is { } level)
        {
            return Enum.TryParse<LogLevel>(level, ignoreCase: true, out var parsed)
                ? parsed
                : throw new PgArchiveConfigurationException($"PGARCHIVE_LOG_LEVEL '{level}' must be one of {string.Join(", ", Enum.GetNames<LogLevel>())}.");
        }

        return settings.Get("WALG_LOG_LEVEL")?.ToUpperInvariant() switch
        {
            null => defaultLevel,
            "DEVEL" => LogLevel.Debug,
            "NORMAL" => LogLevel.Information,
            "ERROR" => LogLevel.Error,
            var other => throw new PgArchiveConfigurationException($"WALG_LOG_LEVEL '{other}' must be NORMAL, DEVEL or ERROR."),
        };
    }

    /// <summary>Resolves a service; a shorthand for command bodies.</summary>
    public static T Get<T>(this IServiceProvider services) where T : notnull => services.GetRequiredService<T>();
}
