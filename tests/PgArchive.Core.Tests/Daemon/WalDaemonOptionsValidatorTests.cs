using Microsoft.Extensions.Options;
using PgArchive.Testing;

namespace PgArchive.Daemon;

public sealed class WalDaemonOptionsValidatorTests : OptionsValidatorContract<WalDaemonOptions>
{
    public static TheoryData<string, string> Rules => new()
    {
        { "SocketPath", "PgArchive:WalDaemon:SocketPath must name the daemon's Unix domain socket." },
        { "SocketPathLength", $"PgArchive:WalDaemon:SocketPath must be at most 107 bytes as an absolute path (a Unix domain socket's limit); '/run/{new string('s', 103)}' is longer." },
        { "DataDirectory", "PgArchive:WalDaemon:DataDirectory (PGDATA) must be an absolute path; it is 'data'." },
        { "MaxConcurrentRequests", "PgArchive:WalDaemon:MaxConcurrentRequests must be at least 1; it is 0." },
        { "RequestTimeout", "PgArchive:WalDaemon:RequestTimeout (WALG_DAEMON_WAL_UPLOAD_TIMEOUT) must be positive; it is 00:00:00." },
        { "UploadConcurrency", "PgArchive:WalDaemon:UploadConcurrency (WALG_UPLOAD_CONCURRENCY) must be at least 1; it is 0." },
    };

    protected override IValidateOptions<WalDaemonOptions> Validator { get; } = new WalDaemonOptionsValidator();

    protected override WalDaemonOptions Valid() => new() { SocketPath = "/run/postgresql/pgarchive.sock", DataDirectory = "/srv/pg" };

    protected override void Break(string rule, WalDaemonOptions options)
    {
        switch (rule)
        {
            case "SocketPath": options.SocketPath = ""; break;
            case "SocketPathLength": options.SocketPath = "/run/" + new string('s', 103); break;
            case "DataDirectory": options.DataDirectory = "data"; break;
            case "MaxConcurrentRequests": options.MaxConcurrentRequests = 0; break;
            case "RequestTimeout": options.RequestTimeout = TimeSpan.Zero; break;
            case "UploadConcurrency": options.UploadConcurrency = 0; break;
            default: throw new ArgumentOutOfRangeException(nameof(rule), rule, null);
        }
    }
}
