using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace PgArchive.Storage.Conformance;

/// <summary>What <see cref="FaultProxy"/> does to one request.</summary>
public enum ProxyFault
{
    /// <summary>Forwarded untouched.</summary>
    None,

    /// <summary>Answered by the proxy with 500 InternalError (S3 XML body); the server never sees it.</summary>
    InternalError,

    /// <summary>Answered by the proxy with 503 SlowDown (S3 XML body); the server never sees it.</summary>
    SlowDown,

    /// <summary>The connection is reset (RST) before any response; the server never sees the request.</summary>
    Reset,

    /// <summary>Forwarded; the response body is cut in half and the connection closed (a truncated download).</summary>
    TruncatedBody,

    /// <summary>Forwarded after a random delay up to <see cref="FaultProxy.MaxLatency"/>.</summary>
    Latency,

    /// <summary>Answered with 500 InternalError because <see cref="FaultProxy.Permanent"/> accepts the request.</summary>
    Permanent,
}

/// <summary>The start of a request, as the proxy saw it.</summary>
/// <param name="Method">GET, PUT, ...</param>
/// <param name="Target">The request target: path and query, e.g. <c>/bucket/key?uploadId=1</c>.</param>
public sealed record ProxyRequest(string Method, string Target)
{
    /// <summary>The path without the query.</summary>
    public string Path => Target.Split('?', 2)[0];
}

/// <summary>
/// A fault-injecting reverse proxy for an HTTP/1.1 object-storage emulator (s3rver, Azurite...), on a free port of
/// 127.0.0.1. It relays bytes untouched (the Host header the client signed with SigV4 reaches the server as is) and
/// streams bodies both ways; it understands just enough HTTP/1.1 (Content-Length, chunked, 1xx, HEAD) to tell
/// requests apart. Each request draws, with a seeded random generator, a transient fault at <see cref="TransientRate"/>:
/// a 500 or 503 SlowDown answer, a reset connection, a response body cut in half, or added latency. Requests that
/// <see cref="Permanent"/> accepts fail with 500 every time. Counts of requests and faults are kept for reports.
/// </summary>
public sealed class FaultProxy : IAsyncDisposable
{
    private readonly TcpListener _listener;
    private readonly IPEndPoint _upstream;
    private readonly Random _random;
    private readonly Lock _randomLock = new();
    private readonly CancellationTokenSource _stopping = new();
    private readonly ConcurrentDictionary<Socket, bool> _open = new();
    private readonly ConcurrentDictionary<ProxyFault, long> _faults = new();
    private readonly Task _accepting;
    private long _requests;
    private long _nextId;
    private int _transientDrawn;
    private volatile Func<ProxyRequest, bool>? _permanent;

    private FaultProxy(IPEndPoint upstream, double transientRate, int seed)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(transientRate);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(transientRate, 1.0);
        _upstream = upstream;
        TransientRate = transientRate;
        Seed = seed;
        _random = new Random(seed);
        _listener = new TcpListener(IPAddress.Loopback, 0);
        _listener.Start();
        Endpoint = new Uri($"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}");
        _accepting = AcceptAsync();
    }

    /// <summary>The proxy's address: point the client here instead of at the server.</summary>
    public Uri Endpoint { get; }

    /// <summary>The fraction (0 to 1) of requests that draw a transient fault.</summary>
    public double TransientRate { get; set; }

    /// <summary>The seed of the generator that picks faulty requests and their faults.</summary>
    public int Seed { get; }

    /// <summary>The transient faults drawn from, with equal chances. Default all five.</summary>
    public IReadOnlyList<ProxyFault> TransientKinds { get; set; } =
        [ProxyFault.InternalError, ProxyFault.SlowDown, ProxyFault.Reset, ProxyFault.TruncatedBody, ProxyFault.Latency];

    /// <summary>
    /// How many transient faults may be drawn in all (null: no limit); then requests go through untouched. With
    /// <see cref="TransientRate"/> 1, a limit of 1 faults exactly the first request that can take one of
    /// <see cref="TransientKinds"/> (a cut body: the first GET), however the client times its requests.
    /// </summary>
    public int? TransientLimit { get; set; }

    /// <summary>Only requests this accepts can draw a transient fault (null: all), e.g. media downloads and not metadata GETs.</summary>
    public Func<ProxyRequest, bool>? TransientFilter { get; set; }

    /// <summary>The most latency a <see cref="ProxyFault.Latency"/> fault adds. Default 200 ms.</summary>
    public TimeSpan MaxLatency { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>Requests this accepts fail with 500 InternalError, every time (null: none).</summary>
    public Func<ProxyRequest, bool>? Permanent
    {
        get => _permanent;
        set => _permanent = value;
    }

    /// <summary>How many requests reached the proxy.</summary>
    public long Requests => Interlocked.Read(ref _requests);

    /// <summary>How many faults of each kind were injected (those that took effect).</summary>
    public IReadOnlyDictionary<ProxyFault, long> Faults => _faults.ToDictionary(p => p.Key, p => p.Value);

    /// <summary>How many transient faults took effect (latency included).</summary>
    public long TransientFaults => _faults.Where(p => p.Key is not ProxyFault.Permanent).Sum(p => p.Value);

    /// <summary>Starts a proxy in front of <paramref name="upstream"/> (an <c>http://host:port</c> endpoint on this machine).</summary>
    public static FaultProxy Start(Uri upstream, double transientRate = 0, int seed = 1)
    {
        ArgumentNullException.ThrowIfNull(upstream);
        var address = upstream.Host == "localhost" ? IPAddress.Loopback : IPAddress.Parse(upstream.Host);
        return new FaultProxy(new IPEndPoint(address, upstream.Port), transientRate, seed);
    }

    /// <summary>Sets the counters back to zero.</summary>
    public void ResetCounts()
    {
        Interlocked.Exchange(ref _requests, 0);
        _faults.Clear();
        lock (_randomLock)
        {
            _transientDrawn = 0;
        }
    }

    /// <summary>One line for test output: requests, faults, and faults by kind.</summary>
    public string Summary()
    {
        var faults = Faults;
        var kinds = string.Join(", ", faults.OrderBy(p => p.Key).Select(p => $"{p.Key} {p.Value}"));
        var transient = TransientFaults;
        var share = Requests == 0 ? 0 : 100.0 * transient / Requests;
        return string.Create(CultureInfo.InvariantCulture,
            $"fault proxy (seed {Seed}, rate {TransientRate:P0}): {Requests} requests, {transient} transient faults ({share:F1}%), " +
            $"{faults.GetValueOrDefault(ProxyFault.Permanent)} permanent [{kinds}]");
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        _listener.Stop();
        foreach (var socket in _open.Keys)
        {
            socket.Dispose();
        }

        try
        {
            await _accepting;
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }

        _stopping.Dispose();
    }

    private async Task AcceptAsync()
    {
        while (!_stopping.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _listener.AcceptSocketAsync(_stopping.Token);
            }
            catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }

            _ = Task.Run(() => ServeAsync(client));
        }
    }

    private ProxyFault Draw(ProxyRequest request)
    {
        if (_permanent is { } permanent && permanent(request))
        {
            return ProxyFault.Permanent;
        }

        lock (_randomLock)
        {
            if (_random.NextDouble() >= TransientRate || _transientDrawn >= TransientLimit || TransientFilter?.Invoke(request) == false)
            {
                return ProxyFault.None;
            }

            // Only a GET has a body worth cutting.
            var kinds = TransientKinds.Where(k => k != ProxyFault.TruncatedBody || request.Method == "GET").ToList();
            if (kinds.Count == 0)
            {
                return ProxyFault.None;
            }

            _transientDrawn++;
            return kinds[_random.Next(kinds.Count)];
        }
    }

    private TimeSpan DrawLatency()
    {
        lock (_randomLock)
        {
            return TimeSpan.FromMilliseconds(_random.NextDouble() * MaxLatency.TotalMilliseconds);
        }
    }

    private void Count(ProxyFault fault) => _faults.AddOrUpdate(fault, 1, (_, n) => n + 1);

    private async Task ServeAsync(Socket clientSocket)
    {
        _open[clientSocket] = true;
        Socket? upstreamSocket = null;
        var token = _stopping.Token;
        try
        {
            clientSocket.NoDelay = true;
            await using var clientStream = new NetworkStream(clientSocket, ownsSocket: false);
            var client = new HttpConnection(clientStream);
            HttpConnection? upstream = null;
            NetworkStream? upstreamStream = null;
            try
            {
                while (true)
                {
                    var head = await client.ReadHeadAsync(token);
                    if (head is null)
                    {
                        return;
                    }

                    var request = HttpHead.Parse(head);
                    var proxyRequest = new ProxyRequest(request.Method, request.Target);
                    Interlocked.Increment(ref _requests);
                    var fault = Draw(proxyRequest);
                    switch (fault)
                    {
                        case ProxyFault.Reset:
                            Count(fault);
                            Reset(clientSocket);
                            return;
                        case ProxyFault.InternalError or ProxyFault.SlowDown or ProxyFault.Permanent:
                            Count(fault);
                            var expectsContinue = request.Header("Expect")?.Contains("100-continue", StringComparison.OrdinalIgnoreCase) == true;
                            if (!expectsContinue)
                            {
                                // Read the body away so the connection stays usable, as S3 does.
                                await client.CopyBodyAsync(request, isResponse: false, Stream.Null, token);
                            }

                            await clientStream.WriteAsync(ErrorResponse(fault, request.Method == "HEAD", close: expectsContinue), token);
                            if (expectsContinue)
                            {
                                clientSocket.Shutdown(SocketShutdown.Send);
                                return;
                            }

                            continue;
                        case ProxyFault.Latency:
                            Count(fault);
                            await Task.Delay(DrawLatency(), token);
                            break;
                    }

                    if (upstream is null)
                    {
                        upstreamSocket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                        _open[upstreamSocket] = true;
                        await upstreamSocket.ConnectAsync(_upstream, token);
                        upstreamStream = new NetworkStream(upstreamSocket, ownsSocket: false);
                        upstream = new HttpConnection(upstreamStream);
                    }

                    await upstreamStream!.WriteAsync(head, token);
                    var requestBody = client.CopyBodyAsync(request, isResponse: false, upstreamStream, token);

                    HttpHead response;
                    while (true)
                    {
                        var responseHead = await upstream.ReadHeadAsync(token);
                        if (responseHead is null)
                        {
                            Reset(clientSocket);
                            return;
                        }

                        await clientStream.WriteAsync(responseHead, token);
                        response = HttpHead.Parse(responseHead);
                        if (response.Status is >= 100 and < 200)
                        {
                            continue;
                        }

                        break;
                    }

                    var length = request.Method == "HEAD" || response.Status is 204 or 304 ? 0 : response.ContentLength;
                    if (fault == ProxyFault.TruncatedBody && length >= 2)
                    {
                        Count(fault);
                        await upstream.CopyExactAsync(length.Value / 2, clientStream, token);
                        await clientStream.FlushAsync(token);
                        // FIN, not RST: a reset would discard the bytes still in the send buffer, head included.
                        clientSocket.Shutdown(SocketShutdown.Send);
                        return;
                    }

                    var bodyless = request.Method == "HEAD" || response.Status is 204 or 304;
                    var toEnd = !bodyless && response.ContentLength is null && !response.IsChunked;
                    if (!bodyless)
                    {
                        await upstream.CopyBodyAsync(response, isResponse: true, clientStream, token);
                    }

                    if (!requestBody.IsCompleted || toEnd || response.Closes || request.Closes)
                    {
                        // The server answered before the whole body arrived, or the connection ends here.
                        clientSocket.Shutdown(SocketShutdown.Send);
                        return;
                    }

                    await requestBody;
                }
            }
            finally
            {
                if (upstreamStream is not null)
                {
                    await upstreamStream.DisposeAsync();
                }
            }
        }
        catch (Exception ex) when (ex is IOException or SocketException or OperationCanceledException or ObjectDisposedException or FormatException)
        {
            // A side went away (or the proxy stops): drop the connection.
        }
        finally
        {
            _open.TryRemove(clientSocket, out _);
            clientSocket.Dispose();
            if (upstreamSocket is not null)
            {
                _open.TryRemove(upstreamSocket, out _);
                upstreamSocket.Dispose();
            }
        }
    }

    private static void Reset(Socket socket)
    {
        try
        {
            socket.LingerState = new LingerOption(true, 0);
            socket.Close();
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
        }
    }

    private byte[] ErrorResponse(ProxyFault fault, bool head, bool close)
    {
        var (status, reason, code, message) = fault == ProxyFault.SlowDown
            ? (503, "Slow Down", "SlowDown", "Please reduce your request rate.")
            : (500, "Internal Server Error", "InternalError", "We encountered an internal error. Please try again.");
        var id = Interlocked.Increment(ref _nextId).ToString("x16", CultureInfo.InvariantCulture);
        var body = head ? "" :
            $"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{message}</Message><RequestId>{id}</RequestId></Error>";
        var text = $"HTTP/1.1 {status} {reason}\r\nContent-Type: application/xml\r\nContent-Length: {Encoding.UTF8.GetByteCount(body)}\r\n" +
            $"x-amz-request-id: {id}\r\nConnection: {(close ? "close" : "keep-alive")}\r\n\r\n{body}";
        return Encoding.UTF8.GetBytes(text);
    }

    /// <summary>A request or response head: start line and headers.</summary>
    private sealed class HttpHead
    {
        private readonly List<(string Name, string Value)> _headers = [];

        public string Method { get; private init; } = "";

        public string Target { get; private init; } = "";

        public int Status { get; private init; }

        public long? ContentLength => Header("Content-Length") is { } value ? long.Parse(value, CultureInfo.InvariantCulture) : null;

        public bool IsChunked => Header("Transfer-Encoding")?.Contains("chunked", StringComparison.OrdinalIgnoreCase) == true;

        public bool Closes => Header("Connection")?.Contains("close", StringComparison.OrdinalIgnoreCase) == true;

        public string? Header(string name) => _headers.FirstOrDefault(h => h.Name.Equals(name, StringComparison.OrdinalIgnoreCase)).Value;

        public static HttpHead Parse(byte[] bytes)
        {
            var lines = Encoding.Latin1.GetString(bytes).Split("\r\n");
            var start = lines[0].Split(' ', 3);
            if (start.Length < 2)
            {
                throw new FormatException("Not an HTTP/1.1 start line: " + lines[0]);
            }

            var isResponse = start[0].StartsWith("HTTP/", StringComparison.Ordinal);
            var head = new HttpHead
            {
                Method = isResponse ? "" : start[0],
                Target = isResponse ? "" : start[1],
                Status = isResponse ? int.Parse(start[1], CultureInfo.InvariantCulture) : 0,
            };
            foreach (var line in lines.Skip(1))
            {
                var colon = line.IndexOf(':', StringComparison.Ordinal);
                if (colon > 0)
                {
                    head._headers.Add((line[..colon].Trim(), line[(colon + 1)..].Trim()));
                }
            }

            return head;
        }
    }

    /// <summary>One side of a connection, read through a buffer so that heads and bodies can be told apart.</summary>
    private sealed class HttpConnection(Stream stream)
    {
        private readonly byte[] _buffer = new byte[64 * 1024];
        private int _start;
        private int _end;

        /// <summary>The next head, up to and including the empty line; null at a clean end of the connection.</summary>
        public async Task<byte[]?> ReadHeadAsync(CancellationToken cancellationToken)
        {
            var searched = 0;
            while (true)
            {
                var span = _buffer.AsSpan(_start, _end - _start);
                var at = span[Math.Max(0, searched - 3)..].IndexOf("\r\n\r\n"u8);
                if (at >= 0)
                {
                    var length = Math.Max(0, searched - 3) + at + 4;
                    var head = span[..length].ToArray();
                    _start += length;
                    return head;
                }

                searched = span.Length;
                if (searched == _buffer.Length)
                {
                    throw new IOException("Head larger than 64 KiB.");
                }

                if (!await FillAsync(cancellationToken))
                {
                    return _end == _start ? null : throw new IOException("The connection ended inside a head.");
                }
            }
        }

        /// <summary>Copies the body that follows <paramref name="head"/>.</summary>
        public async Task CopyBodyAsync(HttpHead head, bool isResponse, Stream destination, CancellationToken cancellationToken)
        {
            if (head.IsChunked)
            {
                await CopyChunkedAsync(destination, cancellationToken);
            }
            else if (head.ContentLength is { } length)
            {
                await CopyExactAsync(length, destination, cancellationToken);
            }
            else if (isResponse)
            {
                await CopyToEndAsync(destination, cancellationToken);
            }
        }

        public async Task CopyExactAsync(long count, Stream destination, CancellationToken cancellationToken)
        {
            while (count > 0)
            {
                if (_start == _end && !await FillAsync(cancellationToken))
                {
                    throw new IOException("The connection ended inside a body.");
                }

                var n = (int)Math.Min(count, _end - _start);
                await destination.WriteAsync(_buffer.AsMemory(_start, n), cancellationToken);
                _start += n;
                count -= n;
            }
        }

        private async Task CopyChunkedAsync(Stream destination, CancellationToken cancellationToken)
        {
            while (true)
            {
                var line = await ReadLineAsync(cancellationToken);
                await destination.WriteAsync(line, cancellationToken);
                var text = Encoding.Latin1.GetString(line).Trim();
                var size = long.Parse(text.Split(';')[0], NumberStyles.HexNumber, CultureInfo.InvariantCulture);
                if (size == 0)
                {
                    // Trailers, then the empty line.
                    while (true)
                    {
                        var trailer = await ReadLineAsync(cancellationToken);
                        await destination.WriteAsync(trailer, cancellationToken);
                        if (trailer.Length == 2)
                        {
                            return;
                        }
                    }
                }

                await CopyExactAsync(size + 2, destination, cancellationToken);
            }
        }

        private async Task CopyToEndAsync(Stream destination, CancellationToken cancellationToken)
        {
            do
            {
                await destination.WriteAsync(_buffer.AsMemory(_start, _end - _start), cancellationToken);
                _start = _end;
            }
            while (await FillAsync(cancellationToken));
        }

        private async Task<byte[]> ReadLineAsync(CancellationToken cancellationToken)
        {
            var searched = 0;
            while (true)
            {
                var span = _buffer.AsSpan(_start, _end - _start);
                var at = span[searched..].IndexOf("\r\n"u8);
                if (at >= 0)
                {
                    var line = span[..(searched + at + 2)].ToArray();
                    _start += line.Length;
                    return line;
                }

                searched = Math.Max(0, span.Length - 1);
                if (span.Length == _buffer.Length)
                {
                    throw new IOException("Chunk line larger than 64 KiB.");
                }

                if (!await FillAsync(cancellationToken))
                {
                    throw new IOException("The connection ended inside a chunked body.");
                }
            }
        }

        /// <summary>Reads more bytes after those buffered; false at the end of the stream.</summary>
        private async Task<bool> FillAsync(CancellationToken cancellationToken)
        {
            if (_start > 0)
            {
                Buffer.BlockCopy(_buffer, _start, _buffer, 0, _end - _start);
                _end -= _start;
                _start = 0;
            }

            if (_end == _buffer.Length)
            {
                return true;
            }

            var read = await stream.ReadAsync(_buffer.AsMemory(_end), cancellationToken);
            _end += read;
            return read > 0;
        }
    }
}
