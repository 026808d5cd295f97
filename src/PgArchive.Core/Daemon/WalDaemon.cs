using System.Net.Sockets;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using PgArchive.Diagnostics;
using PgArchive.Wal;

namespace PgArchive.Daemon;

/// <summary>
/// WAL-G's archive daemon (<c>wal-g daemon SOCKET</c>): serves <c>wal-push</c> and <c>wal-fetch</c> on a Unix domain
/// socket in WAL-G's daemon protocol, so that <c>archive_command</c> and <c>restore_command</c> are a small client
/// (<c>pgarchive daemon-client</c>, or WAL-G's <c>walg-daemon-client</c>) and the store connection stays warm. A push is
/// the one <c>wal-push</c> makes (<see cref="WalReadyUploader"/>: never overwriting, answered <c>O</c> only once durably
/// stored); a fetch the one <c>wal-fetch</c> makes (<c>N</c> when the archive does not have the file).
/// </summary>
/// <remarks>
/// Requests are served concurrently, at most <see cref="WalDaemonOptions.MaxConcurrentRequests"/> at once, each within
/// <see cref="WalDaemonOptions.RequestTimeout"/>. When stopped, it stops accepting, removes its socket file and finishes
/// the requests in progress. As a hosted service it runs for the host's life.
/// </remarks>
public sealed class WalDaemon : BackgroundService
{
    private const int Backlog = 128;
    private readonly WalReadyUploader _uploader;
    private readonly WalArchiver _archiver;
    private readonly WalDaemonOptions _options;
    private readonly ILogger _logger;

    /// <summary>Creates the daemon over the services <c>wal-push</c> and <c>wal-fetch</c> use.</summary>
    public WalDaemon(WalReadyUploader uploader, WalArchiver archiver, IOptions<WalDaemonOptions> options, ILogger<WalDaemon>? logger = null)
    {
        _uploader = uploader ?? throw new ArgumentNullException(nameof(uploader));
        _archiver = archiver ?? throw new ArgumentNullException(nameof(archiver));
        _options = (options ?? throw new ArgumentNullException(nameof(options))).Value;
        _logger = logger ?? NullLogger<WalDaemon>.Instance;
    }

    /// <summary>
    /// Listens until <paramref name="cancellationToken"/> is cancelled, then stops accepting, removes the socket file,
    /// finishes the requests in progress and returns. Fails with a <see cref="PgArchiveConfigurationException"/> for
    /// invalid options or a socket path that holds something else than a socket, and a <see cref="PgArchiveException"/>
    /// when another daemon answers on the socket or it cannot be created.
    /// </summary>
    public async Task RunAsync(CancellationToken cancellationToken = default)
    {
        OptionsFailures.ThrowIfAny(new WalDaemonOptionsValidator().Validate(null, _options).Failures);
        var listener = await DaemonSocket.ListenAsync(_options.SocketPath, Backlog, cancellationToken).ConfigureAwait(false);
        Log.DaemonListening(_logger, Path.GetFullPath(_options.SocketPath), _options.MaxConcurrentRequests);
        using var slots = new SemaphoreSlim(_options.MaxConcurrentRequests);
        var inFlight = new HashSet<Task>();
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                await slots.WaitAsync(cancellationToken).ConfigureAwait(false);
                Socket connection;
                try
                {
                    connection = await listener.AcceptAsync(cancellationToken).ConfigureAwait(false);
                }
                catch (SocketException ex)
                {
                    slots.Release();
                    Log.DaemonAcceptFailed(_logger, ex.Message);
                    await Task.Delay(TimeSpan.FromMilliseconds(100), cancellationToken).ConfigureAwait(false);
                    continue;
                }
                catch
                {
                    slots.Release();
                    throw;
                }

                var served = ServeAndReleaseAsync(connection, slots);
                lock (inFlight)
                {
                    inFlight.Add(served);
                }

                _ = served.ContinueWith(t => { lock (inFlight) { inFlight.Remove(t); } }, CancellationToken.None,
                    TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        finally
        {
            listener.Dispose();
            DaemonSocket.Remove(_options.SocketPath);
            Task[] remaining;
            lock (inFlight)
            {
                remaining = [.. inFlight];
            }

            Log.DaemonStopping(_logger, remaining.Length);
            await Task.WhenAll(remaining).ConfigureAwait(false);
            Log.DaemonStopped(_logger, Path.GetFullPath(_options.SocketPath));
        }
    }

    /// <inheritdoc />
    protected override Task ExecuteAsync(CancellationToken stoppingToken) => RunAsync(stoppingToken);

    private async Task ServeAndReleaseAsync(Socket connection, SemaphoreSlim slots)
    {
        try
        {
            await Task.Yield(); // serve off the accept loop
            await ServeAsync(connection).ConfigureAwait(false);
        }
        finally
        {
            slots.Release();
        }
    }

    /// <summary>
    /// Serves one connection as WAL-G's daemon does: checks are answered and the connection kept; a push or a fetch is
    /// answered and the connection closed; anything malformed or unknown is answered <c>E</c> and the connection closed.
    /// A request that is still running when the daemon stops is finished (within the request timeout).
    /// </summary>
    private async Task ServeAsync(Socket connection)
    {
        using var timeout = new CancellationTokenSource(_options.RequestTimeout);
        var stream = new NetworkStream(connection, ownsSocket: true);
        await using (stream.ConfigureAwait(false))
        {
            try
            {
                while (await DaemonFrame.ReadAsync(stream, timeout.Token).ConfigureAwait(false) is var (type, body))
                {
                    var reply = await HandleAsync(type, body, timeout.Token).ConfigureAwait(false);
                    await stream.WriteAsync(new[] { (byte)reply }, timeout.Token).ConfigureAwait(false);
                    if (type != DaemonMessageType.Check || reply != DaemonMessageType.Ok)
                    {
                        return;
                    }
                }
            }
            catch (Exception ex) when (ex is DaemonProtocolException or IOException or SocketException
                                           or OperationCanceledException)
            {
                Log.DaemonConnectionDropped(_logger, ex is OperationCanceledException
                    ? $"no complete request within {_options.RequestTimeout.TotalSeconds:0.###} s"
                    : ex.Message);
                await TryReplyErrorAsync(stream).ConfigureAwait(false);
            }
        }
    }

    private static async Task TryReplyErrorAsync(NetworkStream stream)
    {
        try
        {
            using var brief = new CancellationTokenSource(TimeSpan.FromSeconds(1));
            await stream.WriteAsync(new[] { (byte)DaemonMessageType.Error }, brief.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
        {
            // the peer is gone: nobody to tell
        }
    }

    /// <summary>Runs one request; its reply. Every failure of the request itself is logged and answered <c>E</c>.</summary>
    private async Task<DaemonMessageType> HandleAsync(DaemonMessageType type, byte[] body, CancellationToken cancellationToken)
    {
        var request = type switch
        {
            DaemonMessageType.Check => "check",
            DaemonMessageType.WalPush => "wal-push",
            DaemonMessageType.WalFetch => "wal-fetch",
            _ => $"of unknown type 0x{(byte)type:x2}",
        };
        try
        {
            switch (type)
            {
                case DaemonMessageType.Check:
                    return Answered(request, DaemonMessageType.Ok);
                case DaemonMessageType.WalPush:
                {
                    var path = DaemonFrame.DecodeText(body);
                    request = $"wal-push '{path}'";
                    var full = ResolvePushPath(path, _options.DataDirectory);
                    await _uploader.PushAsync(full, _options.UploadConcurrency, scope: _options.MarkerScope, cancellationToken: cancellationToken).ConfigureAwait(false);
                    return Answered(request, DaemonMessageType.Ok);
                }

                case DaemonMessageType.WalFetch:
                {
                    var arguments = DaemonFrame.DecodeArguments(body);
                    if (arguments.Count != 2)
                    {
                        throw new DaemonProtocolException($"wal-fetch takes 2 arguments (name, destination); the request has {arguments.Count}.");
                    }

                    request = $"wal-fetch '{arguments[0]}' '{arguments[1]}'";
                    var destination = ResolvePath(arguments[1], _options.DataDirectory);
                    await _archiver.FetchAsync(arguments[0], destination, cancellationToken).ConfigureAwait(false);
                    return Answered(request, DaemonMessageType.Ok);
                }

                default:
                    Log.DaemonRequestFailed(_logger, request, "pgarchive's daemon serves check ('C'), wal-push ('F') and wal-fetch ('f')");
                    return DaemonMessageType.Error;
            }
        }
        catch (WalFileNotFoundException ex)
        {
            Log.DaemonNotInArchive(_logger, request, ex.Message);
            return Answered(request, DaemonMessageType.ArchiveNonExistence);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            Log.DaemonRequestFailed(_logger, request, $"not done within {_options.RequestTimeout.TotalSeconds:0.###} s (the request timeout)");
            return DaemonMessageType.Error;
        }
#pragma warning disable CA1031 // a request's failure, whatever it is, is answered E: the daemon serves the next one
        catch (Exception ex)
#pragma warning restore CA1031
        {
            Log.DaemonRequestFailed(_logger, request, ex.Message.ReplaceLineEndings(" "));
            return DaemonMessageType.Error;
        }
    }

    private DaemonMessageType Answered(string request, DaemonMessageType reply)
    {
        Log.DaemonAnswered(_logger, request, (char)reply);
        return reply;
    }

    /// <summary>
    /// The file a push names: an absolute path as it is; relative ones against the data directory as WAL-G's daemon
    /// resolves them: a bare name (<c>%f</c>, what WAL-G's documentation puts in archive_command) in its <c>pg_wal</c>,
    /// a path (<c>%p</c>, relative to the data directory) from the directory itself.
    /// </summary>
    internal static string ResolvePushPath(string path, string? dataDirectory) =>
        path.Length > 0 && !Path.IsPathFullyQualified(path) && !path.Contains('/', StringComparison.Ordinal)
            ? ResolvePath(Path.Combine("pg_wal", path), dataDirectory)
            : ResolvePath(path, dataDirectory);

    /// <summary>An absolute path as it is; a relative one against the data directory (PostgreSQL's <c>%p</c> is relative to it).</summary>
    internal static string ResolvePath(string path, string? dataDirectory)
    {
        if (path.Length == 0 || path.Contains('\0', StringComparison.Ordinal))
        {
            throw new DaemonProtocolException("The request names no path.");
        }

        if (Path.IsPathFullyQualified(path))
        {
            return Path.GetFullPath(path);
        }

        return dataDirectory is null
            ? throw new PgArchiveConfigurationException($"'{path}' is a relative path and the daemon has no data directory to resolve it against: set PGDATA (--pgdata) for the daemon, or send an absolute path.")
            : Path.GetFullPath(Path.Combine(dataDirectory, path));
    }
}
