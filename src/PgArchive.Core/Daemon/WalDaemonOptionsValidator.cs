using System.Text;
using Microsoft.Extensions.Options;

namespace PgArchive.Daemon;

/// <summary>Checks <see cref="WalDaemonOptions"/> at start-up (and when <see cref="WalDaemon"/> starts), reporting every broken rule.</summary>
internal sealed class WalDaemonOptionsValidator : IValidateOptions<WalDaemonOptions>
{
    public ValidateOptionsResult Validate(string? name, WalDaemonOptions options)
    {
        var failures = new List<string>();
        if (string.IsNullOrEmpty(options.SocketPath))
        {
            failures.Add("PgArchive:WalDaemon:SocketPath must name the daemon's Unix domain socket.");
        }
        else if (Encoding.UTF8.GetByteCount(Path.GetFullPath(options.SocketPath)) > DaemonSocket.MaxPathBytes)
        {
            failures.Add($"PgArchive:WalDaemon:SocketPath must be at most {DaemonSocket.MaxPathBytes} bytes as an absolute path (a Unix domain socket's limit); '{options.SocketPath}' is longer.");
        }

        if (options.DataDirectory is { } directory && !Path.IsPathFullyQualified(directory))
        {
            failures.Add($"PgArchive:WalDaemon:DataDirectory (PGDATA) must be an absolute path; it is '{directory}'.");
        }

        if (options.MaxConcurrentRequests < 1)
        {
            failures.Add($"PgArchive:WalDaemon:MaxConcurrentRequests must be at least 1; it is {options.MaxConcurrentRequests}.");
        }

        if (options.RequestTimeout <= TimeSpan.Zero)
        {
            failures.Add($"PgArchive:WalDaemon:RequestTimeout (WALG_DAEMON_WAL_UPLOAD_TIMEOUT) must be positive; it is {options.RequestTimeout}.");
        }

        if (options.UploadConcurrency < 1)
        {
            failures.Add($"PgArchive:WalDaemon:UploadConcurrency (WALG_UPLOAD_CONCURRENCY) must be at least 1; it is {options.UploadConcurrency}.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
