using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Polly;
using Polly.Retry;

namespace PgArchive.Storage;

/// <summary>
/// Objects in an OpenStack Swift container under a prefix, named as WAL-G names them
/// (<c>swift://container/prefix/wal_005/...</c>), over Swift's REST API with <see cref="HttpClient"/>.
/// </summary>
/// <remarks>
/// <para>Content that fits one segment (<see cref="SwiftObjectStoreOptions.SegmentSize"/>) is sent with one PUT; larger
/// content becomes a Static Large Object: segments in the segment container, uploaded a few at a time, then a
/// manifest. Every PUT carries the content's MD5 as <c>ETag</c>, which Swift checks (422 on mismatch); the manifest's
/// ETag and the stored size are checked afterwards. Create-only puts send <c>If-None-Match: *</c> (plain objects and
/// manifests); Swift checks it when the PUT starts, so racing PUTs of one key could both succeed: they are
/// serialised within the process, and the race remains only between processes. A failed upload deletes the segments it wrote; overwriting
/// or deleting a large object deletes its segments.</para>
/// <para>The token is fetched on first use and again when Swift answers 401; throttling (429, 498), 408, 5xx and
/// connection failures are retried with exponential backoff and jitter (Polly).</para>
/// </remarks>
public sealed class SwiftObjectStore : IObjectStore, ISelfRetryingObjectStore, IDisposable
{
    private const int MaxSegments = 1_000;
    private const int ListPageSize = 1_000;
    private const int DeleteParallelism = 8;

    private readonly SwiftObjectStoreOptions _options;
    private readonly HttpClient _http;
    private readonly bool _ownsHttp;
    private readonly ILogger _logger;
    private readonly SwiftAuthenticator _authenticator;
    private readonly ResiliencePipeline<HttpResponseMessage> _retry;
    private readonly SemaphoreSlim _authLock = new(1, 1);
    private readonly KeyedLocks _createLocks = new();
    private readonly PartBufferPool _buffers;
    private readonly string _root;
    private readonly string _segmentContainer;
    private SwiftSession? _session;
    private volatile bool _containerExists;
    private volatile bool _segmentContainerExists;

    /// <summary>Creates a store; <paramref name="httpClient"/>, when given, is the caller's to dispose.</summary>
    public SwiftObjectStore(SwiftObjectStoreOptions options, HttpClient? httpClient = null, ILogger<SwiftObjectStore>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentException.ThrowIfNullOrEmpty(options.Container, nameof(options));
        ArgumentException.ThrowIfNullOrEmpty(options.AuthUrl, nameof(options));
        _options = options;
        _buffers = new PartBufferPool(options.SegmentSize);
        _ownsHttp = httpClient is null;
        _http = httpClient ?? new HttpClient(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5), AllowAutoRedirect = false })
        {
            Timeout = options.RequestTimeout,
        };
        _logger = logger ?? NullLogger<SwiftObjectStore>.Instance;
        _authenticator = new SwiftAuthenticator(_http, options);
        var prefix = options.Prefix.Trim('/');
        _root = prefix.Length == 0 ? "" : prefix + "/";
        _segmentContainer = string.IsNullOrEmpty(options.SegmentContainer) ? options.Container + "_segments" : options.SegmentContainer;
        _retry = new ResiliencePipelineBuilder<HttpResponseMessage>()
            .AddRetry(new RetryStrategyOptions<HttpResponseMessage>
            {
                MaxRetryAttempts = Math.Max(options.MaxRetries, 0) is var n && n == 0 ? 1 : n,
                Delay = options.RetryDelay,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                MaxDelay = TimeSpan.FromSeconds(30),
                ShouldHandle = args => ValueTask.FromResult(options.MaxRetries > 0 && IsTransient(args.Outcome, args.Context.CancellationToken)),
                OnRetry = args =>
                {
                    Log.Retrying(_logger, args.AttemptNumber + 1, args.RetryDelay.TotalMilliseconds,
                        args.Outcome.Result is { } r ? ((int)r.StatusCode).ToString(CultureInfo.InvariantCulture) : args.Outcome.Exception?.GetType().Name ?? "?");
                    args.Outcome.Result?.Dispose();
                    return default;
                },
            })
            .Build();
    }

    /// <summary>Creates a store from registered options.</summary>
    public SwiftObjectStore(IOptions<SwiftObjectStoreOptions> options, ILogger<SwiftObjectStore>? logger = null)
        : this((options ?? throw new ArgumentNullException(nameof(options))).Value, null, logger)
    {
    }

    /// <summary>The container.</summary>
    public string Container => _options.Container;

    /// <summary>The container Static Large Object segments are written to.</summary>
    public string SegmentContainer => _segmentContainer;

    /// <summary>The object-name prefix inside the container, empty or ending with '/'.</summary>
    public string RootPrefix => _root;

    /// <inheritdoc />
    public async Task PutAsync(string key, Stream content, PutMode mode = PutMode.Overwrite, CancellationToken cancellationToken = default)
    {
        ObjectKey.Validate(key);
        ArgumentNullException.ThrowIfNull(content);
        cancellationToken.ThrowIfCancellationRequested();
        var createNew = mode == PutMode.CreateNew;

        // Swift checks If-None-Match when a PUT starts, so two PUTs of one key racing can both succeed (the later
        // wins): create-only puts of the same key are serialised within this process; across processes the race stays.
        using var createLock = createNew ? await _createLocks.LockAsync(_root + key, cancellationToken).ConfigureAwait(false) : null;
        var first = _buffers.Rent();
        try
        {
            var length = await content.ReadAtLeastAsync(first, first.Length, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false);
            if (createNew && length == first.Length && await HeadAsync(key, cancellationToken).ConfigureAwait(false) is not null)
            {
                // Spare uploading segments that the manifest's If-None-Match would refuse anyway.
                throw ObjectStoreException.AlreadyExists(key);
            }

            var replaced = createNew ? null : await GetSegmentsAsync(key, cancellationToken).ConfigureAwait(false);
            if (length < first.Length)
            {
                await PutObjectAsync(key, first, length, createNew, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                await PutLargeObjectAsync(key, first, content, createNew, cancellationToken).ConfigureAwait(false);
            }

            if (replaced is { Count: > 0 })
            {
                await DeleteSegmentsAsync(key, replaced, cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            _buffers.Return(first);
        }
    }

    /// <inheritdoc />
    public async Task<Stream> OpenReadAsync(string key, ByteRange? range = null, CancellationToken cancellationToken = default)
    {
        ObjectKey.Validate(key);
        cancellationToken.ThrowIfCancellationRequested();
        if (range is { Length: 0 })
        {
            return await HeadAsync(key, cancellationToken).ConfigureAwait(false) is null
                ? throw ObjectStoreException.NotFound(key)
                : new MemoryStream([], writable: false);
        }

        var response = await SendAsync(key, "read", url =>
        {
            var request = new HttpRequestMessage(HttpMethod.Get, ObjectUrl(url, _options.Container, _root + key));
            if (range is { } r && (r.Offset > 0 || r.Length is not null))
            {
                request.Headers.Range = new RangeHeaderValue(r.Offset, r.Length is { } l ? r.Offset + l - 1 : null);
            }

            return request;
        }, cancellationToken, HttpCompletionOption.ResponseHeadersRead).ConfigureAwait(false);
        if (response.StatusCode == HttpStatusCode.RequestedRangeNotSatisfiable)
        {
            response.Dispose();
            return new MemoryStream([], writable: false);
        }

        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            response.Dispose();
            await EnsureContainerExistsAsync(key, cancellationToken).ConfigureAwait(false);
            throw ObjectStoreException.NotFound(key);
        }

        await EnsureSuccessAsync(response, key, "read").ConfigureAwait(false);
        _containerExists = true;
        var body = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        var first = new ResponseStream(response, body);
        var etag = Etag(response);
        if (etag is null || response.Content.Headers.ContentLength is not { } length)
        {
            return first;
        }

        // A body that breaks off part-way is asked for again from the byte reached, if the object is still the same.
        var offset = response.StatusCode == HttpStatusCode.PartialContent && range is { } requested ? requested.Offset : 0;
        return new ResumingDownloadStream(first, length, _options.MaxRetries, _options.RetryDelay,
            (position, ct) => ReadRestAsync(key, etag, offset + position, offset + length - 1, ct),
            (failure, position) => new ObjectStoreException(ObjectStoreErrorKind.Unavailable, key,
                $"Cannot read '{key}': the download from Swift container '{_options.Container}' broke off after {position} of {length} bytes, " +
                $"also after {_options.MaxRetries} resumed attempts ({failure.Message}).", failure),
            (position, failure) => Log.ReadResumed(_logger, key, position, failure.Message));
    }

    /// <summary>The bytes <paramref name="from"/> to <paramref name="to"/> of the object, only if its ETag is still <paramref name="etag"/>.</summary>
    private async Task<Stream> ReadRestAsync(string key, string etag, long from, long to, CancellationToken cancellationToken)
    {
        var response = await SendAsync(key, "read", url =>
        {
            var request = new HttpRequestMessage(HttpMethod.Get, ObjectUrl(url, _options.Container, _root + key));
            request.Headers.Range = new RangeHeaderValue(from, to);
            request.Headers.TryAddWithoutValidation("If-Match", $"\"{etag}\"");
            return request;
        }, cancellationToken, HttpCompletionOption.ResponseHeadersRead).ConfigureAwait(false);
        try
        {
            switch (response.StatusCode)
            {
                case HttpStatusCode.PreconditionFailed:
                    throw new ObjectStoreException(ObjectStoreErrorKind.Other, key,
                        $"Cannot read '{key}': it was replaced in Swift container '{_options.Container}' while being read (its ETag changed after {from} bytes).");
                case HttpStatusCode.NotFound:
                    throw ObjectStoreException.NotFound(key);
                case HttpStatusCode.PartialContent:
                    return new ResponseStream(response, await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false));
                default:
                    await EnsureSuccessAsync(response, key, "read").ConfigureAwait(false);
                    throw new ObjectStoreException(ObjectStoreErrorKind.Other, key,
                        $"Cannot read '{key}': Swift answered {(int)response.StatusCode} instead of 206 to the ranged GET that resumes the download.");
            }
        }
        catch
        {
            response.Dispose();
            throw;
        }
    }

    /// <inheritdoc />
    public Task<ObjectInfo?> GetInfoAsync(string key, CancellationToken cancellationToken = default)
    {
        ObjectKey.Validate(key);
        return HeadAsync(key, cancellationToken);
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<ObjectInfo> ListAsync(string prefix, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ObjectKey.ValidatePrefix(prefix);
        string? marker = null;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var page = await ListPageAsync(_options.Container, _root + prefix, marker, prefix, cancellationToken).ConfigureAwait(false);
            if (page is null)
            {
                throw ContainerMissing(prefix, _options.Container);
            }

            foreach (var (name, bytes, modified) in page)
            {
                if (name.StartsWith(_root, StringComparison.Ordinal) && !name.EndsWith('/'))
                {
                    yield return new ObjectInfo(name[_root.Length..], bytes, modified);
                }
            }

            if (page.Count < ListPageSize)
            {
                yield break;
            }

            marker = page[^1].Name;
        }
    }

    /// <inheritdoc />
    public async Task DeleteAsync(IEnumerable<string> keys, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(keys);
        var all = keys.ToList();
        foreach (var key in all)
        {
            ObjectKey.Validate(key);
        }

        cancellationToken.ThrowIfCancellationRequested();
        await Parallel.ForEachAsync(all.Distinct(StringComparer.Ordinal), new ParallelOptions { MaxDegreeOfParallelism = DeleteParallelism, CancellationToken = cancellationToken },
            async (key, ct) => await DeleteObjectAsync(_options.Container, _root + key, key, manifest: true, ct).ConfigureAwait(false)).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (_ownsHttp)
        {
            _http.Dispose();
        }

        _authLock.Dispose();
    }

    private async Task PutObjectAsync(string key, byte[] buffer, int length, bool createNew, CancellationToken cancellationToken)
    {
        var md5 = Md5Hex(buffer.AsSpan(0, length));
        using var response = await SendAsync(key, "write", url =>
        {
            var request = new HttpRequestMessage(HttpMethod.Put, ObjectUrl(url, _options.Container, _root + key))
            {
                Content = Body(buffer, length),
            };
            request.Headers.TryAddWithoutValidation("ETag", md5);
            if (createNew)
            {
                request.Headers.TryAddWithoutValidation("If-None-Match", "*");
            }

            return request;
        }, cancellationToken).ConfigureAwait(false);
        await EnsureWrittenAsync(response, key, _options.Container).ConfigureAwait(false);
        var etag = Etag(response);
        if (etag is not null && !etag.Equals(md5, StringComparison.OrdinalIgnoreCase))
        {
            throw Corrupt(key, $"Swift's ETag {etag} is not the MD5 of the {length} bytes sent");
        }
    }

    private async Task PutLargeObjectAsync(string key, byte[] first, Stream content, bool createNew, CancellationToken cancellationToken)
    {
        await EnsureSegmentContainerAsync(key, cancellationToken).ConfigureAwait(false);
#pragma warning disable RS0030 // part of a unique segment name, as WAL-G and swiftclient name them: no clock the tests drive
        var segmentPrefix = string.Create(CultureInfo.InvariantCulture,
            $"{_options.Container}/{_root}{key}/slo/{DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()}/{Guid.NewGuid():N}/");
#pragma warning restore RS0030
        var upload = new PartedUpload<Segment>
        {
            Buffers = _buffers,
            MaxPartsInFlight = _options.MaxConcurrentSegments,
            MaxParts = MaxSegments,
            TooLarge = () => new ObjectStoreException(ObjectStoreErrorKind.Other, key,
                $"'{key}' is larger than {MaxSegments:N0} segments of {_options.SegmentSize:N0} bytes: raise Swift:SegmentSize."),
            UploadPartAsync = (index, buffer, length, token) =>
                UploadSegmentAsync(key, segmentPrefix + index.ToString("D8", CultureInfo.InvariantCulture), buffer, length, token),
            CompleteAsync = (segments, token) => PutManifestAsync(key, segments, createNew, token),
            CleanUpAsync = segments => DeleteUploadedSegmentsAsync(key, segmentPrefix, segments),
        };
        var (total, _) = await upload.RunAsync(first, content, cancellationToken).ConfigureAwait(false);
        var info = await HeadAsync(key, cancellationToken).ConfigureAwait(false);
        if (info?.Size != total)
        {
            throw Corrupt(key, $"Swift reports {info?.Size.ToString(CultureInfo.InvariantCulture) ?? "no object"} bytes, {total} were sent");
        }
    }

    private async Task PutManifestAsync(string key, Segment[] segments, bool createNew, CancellationToken cancellationToken)
    {
        var manifest = Manifest(segments);
        using var response = await SendAsync(key, "write", url =>
        {
            var request = new HttpRequestMessage(HttpMethod.Put, ObjectUrl(url, _options.Container, _root + key) + "?multipart-manifest=put")
            {
                Content = new ByteArrayContent(manifest),
            };
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
            if (createNew)
            {
                request.Headers.TryAddWithoutValidation("If-None-Match", "*");
            }

            return request;
        }, cancellationToken).ConfigureAwait(false);
        await EnsureWrittenAsync(response, key, _options.Container).ConfigureAwait(false);
        var expected = Md5Hex(Encoding.ASCII.GetBytes(string.Concat(segments.Select(s => s.Etag))));
        if (Etag(response) is { } etag && !etag.Equals(expected, StringComparison.OrdinalIgnoreCase))
        {
            throw Corrupt(key, $"the manifest's ETag {etag} does not match the segments sent ({expected})");
        }
    }

    /// <summary>
    /// After a failed upload: a segment PUT cancelled after its body was sent may still have been stored, so this deletes
    /// the segments confirmed and whatever the segment container lists under the upload's prefix.
    /// </summary>
    private async Task DeleteUploadedSegmentsAsync(string key, string segmentPrefix, IReadOnlyList<Segment> confirmed)
    {
        var written = confirmed.Select(s => s.Path).ToHashSet(StringComparer.Ordinal);
        try
        {
            var listed = await ListPageAsync(_segmentContainer, segmentPrefix[(segmentPrefix.IndexOf('/', StringComparison.Ordinal) + 1)..], null, key, CancellationToken.None)
                .ConfigureAwait(false);
            written.UnionWith((listed ?? []).Select(e => _segmentContainer + "/" + e.Name));
        }
        catch (ObjectStoreException listError)
        {
            Log.SegmentCleanupFailed(_logger, key, written.Count, listError.Kind.ToString());
        }

        await DeleteSegmentsAsync(key, written.ToList(), CancellationToken.None).ConfigureAwait(false);
    }

    private async Task<Segment> UploadSegmentAsync(string key, string path, byte[] buffer, int length, CancellationToken cancellationToken)
    {
        var md5 = Md5Hex(buffer.AsSpan(0, length));
        var slash = path.IndexOf('/', StringComparison.Ordinal);
        using var response = await SendAsync(key, "write", url =>
        {
            var request = new HttpRequestMessage(HttpMethod.Put, ObjectUrl(url, _segmentContainer, path[(slash + 1)..])) { Content = Body(buffer, length) };
            request.Headers.TryAddWithoutValidation("ETag", md5);
            return request;
        }, cancellationToken).ConfigureAwait(false);
        await EnsureWrittenAsync(response, key, _segmentContainer).ConfigureAwait(false);
        if (Etag(response) is { } etag && !etag.Equals(md5, StringComparison.OrdinalIgnoreCase))
        {
            throw Corrupt(key, $"segment {path}'s ETag {etag} is not the MD5 of the {length} bytes sent");
        }

        return new Segment(_segmentContainer + "/" + path[(slash + 1)..], md5, length);
    }

    /// <summary>The segments ("container/name") of a Static Large Object, empty for a plain object, null when absent.</summary>
    private async Task<List<string>?> GetSegmentsAsync(string key, CancellationToken cancellationToken)
    {
        using var head = await SendAsync(key, "read the metadata of",
            url => new HttpRequestMessage(HttpMethod.Head, ObjectUrl(url, _options.Container, _root + key)), cancellationToken).ConfigureAwait(false);
        if (head.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }

        await EnsureSuccessAsync(head, key, "read the metadata of").ConfigureAwait(false);
        if (!head.Headers.TryGetValues("X-Static-Large-Object", out var slo) || !string.Equals(slo.FirstOrDefault(), "true", StringComparison.OrdinalIgnoreCase))
        {
            return [];
        }

        using var response = await SendAsync(key, "read",
            url => new HttpRequestMessage(HttpMethod.Get, ObjectUrl(url, _options.Container, _root + key) + "?multipart-manifest=get"), cancellationToken).ConfigureAwait(false);
        await EnsureSuccessAsync(response, key, "read").ConfigureAwait(false);
        using var document = JsonDocument.Parse(await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false));
        return document.RootElement.EnumerateArray()
            .Select(e => e.GetProperty("name").GetString()!.TrimStart('/'))
            .ToList();
    }

    private async Task DeleteSegmentsAsync(string key, List<string> segments, CancellationToken cancellationToken)
    {
        try
        {
            await Parallel.ForEachAsync(segments, new ParallelOptions { MaxDegreeOfParallelism = DeleteParallelism, CancellationToken = cancellationToken },
                async (path, ct) =>
                {
                    var slash = path.IndexOf('/', StringComparison.Ordinal);
                    await DeleteObjectAsync(path[..slash], path[(slash + 1)..], key, manifest: false, ct).ConfigureAwait(false);
                }).ConfigureAwait(false);
        }
        catch (ObjectStoreException ex)
        {
            Log.SegmentCleanupFailed(_logger, key, segments.Count, ex.Kind.ToString());
        }
    }

    private async Task DeleteObjectAsync(string container, string name, string key, bool manifest, CancellationToken cancellationToken)
    {
        using var response = await SendAsync(key, "delete", url =>
        {
            var request = new HttpRequestMessage(HttpMethod.Delete, ObjectUrl(url, container, name) + (manifest ? "?multipart-manifest=delete" : ""));
            request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
            return request;
        }, cancellationToken).ConfigureAwait(false);
        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            return;
        }

        await EnsureSuccessAsync(response, key, "delete").ConfigureAwait(false);
        if (manifest && response.StatusCode == HttpStatusCode.OK && response.Content.Headers.ContentType?.MediaType == "application/json")
        {
            // A large object's delete answers 200 with the bulk-delete report of its segments.
            // A plain object answers "400 Bad Request" with "Not an SLO manifest" and is still there: delete it plainly.
            using var report = JsonDocument.Parse(await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false));
            if (report.RootElement.TryGetProperty("Response Status", out var status) && status.GetString() is { } text
                && !text.StartsWith('2') && !text.StartsWith("404", StringComparison.Ordinal))
            {
                if (report.RootElement.GetRawText().Contains("Not an SLO manifest", StringComparison.Ordinal))
                {
                    await DeleteObjectAsync(container, name, key, manifest: false, cancellationToken).ConfigureAwait(false);
                    return;
                }

                throw new ObjectStoreException(ObjectStoreErrorKind.Other, key,
                    $"Deleting large object '{key}' in Swift container '{container}' failed for some segments: {text}.");
            }
        }
    }

    private async Task<ObjectInfo?> HeadAsync(string key, CancellationToken cancellationToken)
    {
        using var response = await SendAsync(key, "read the metadata of",
            url => new HttpRequestMessage(HttpMethod.Head, ObjectUrl(url, _options.Container, _root + key)), cancellationToken).ConfigureAwait(false);
        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            await EnsureContainerExistsAsync(key, cancellationToken).ConfigureAwait(false);
            return null;
        }

        await EnsureSuccessAsync(response, key, "read the metadata of").ConfigureAwait(false);
        _containerExists = true;
        return new ObjectInfo(key, response.Content.Headers.ContentLength ?? 0, response.Content.Headers.LastModified ?? DateTimeOffset.UnixEpoch);
    }

    /// <summary>A 404 for an object does not say whether the container is missing: ask once.</summary>
    private async Task EnsureContainerExistsAsync(string key, CancellationToken cancellationToken)
    {
        if (_containerExists)
        {
            return;
        }

        using var response = await SendAsync(key, "check the container for",
            url => new HttpRequestMessage(HttpMethod.Head, ObjectUrl(url, _options.Container, null)), cancellationToken).ConfigureAwait(false);
        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            throw ContainerMissing(key, _options.Container);
        }

        await EnsureSuccessAsync(response, key, "check the container for").ConfigureAwait(false);
        _containerExists = true;
    }

    private async Task EnsureSegmentContainerAsync(string key, CancellationToken cancellationToken)
    {
        if (_segmentContainerExists)
        {
            return;
        }

        using var response = await SendAsync(key, "create the segment container for",
            url => new HttpRequestMessage(HttpMethod.Put, ObjectUrl(url, _segmentContainer, null)), cancellationToken).ConfigureAwait(false);
        await EnsureSuccessAsync(response, key, $"create the segment container '{_segmentContainer}' for").ConfigureAwait(false);
        _segmentContainerExists = true;
    }

    private async Task<List<(string Name, long Bytes, DateTimeOffset Modified)>?> ListPageAsync(string container, string prefix, string? marker, string key,
        CancellationToken cancellationToken)
    {
        using var response = await SendAsync(key, "list", url =>
        {
            var query = new StringBuilder("?format=json&limit=").Append(ListPageSize.ToString(CultureInfo.InvariantCulture));
            query.Append("&prefix=").Append(Uri.EscapeDataString(prefix));
            if (marker is not null)
            {
                query.Append("&marker=").Append(Uri.EscapeDataString(marker));
            }

            return new HttpRequestMessage(HttpMethod.Get, ObjectUrl(url, container, null) + query);
        }, cancellationToken).ConfigureAwait(false);
        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }

        await EnsureSuccessAsync(response, key, "list").ConfigureAwait(false);
        _containerExists = true;
        var page = new List<(string, long, DateTimeOffset)>();
        if (response.StatusCode == HttpStatusCode.NoContent)
        {
            return page;
        }

        using var document = JsonDocument.Parse(await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false));
        foreach (var item in document.RootElement.EnumerateArray())
        {
            if (!item.TryGetProperty("name", out var name))
            {
                continue; // a "subdir" entry
            }

            var modified = item.TryGetProperty("last_modified", out var lm) && DateTimeOffset.TryParse(lm.GetString(), CultureInfo.InvariantCulture,
                DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var parsed) ? parsed : DateTimeOffset.UnixEpoch;
            page.Add((name.GetString()!, item.GetProperty("bytes").GetInt64(), modified));
        }

        return page;
    }

    /// <summary>
    /// Sends a request built against the current storage URL with the current token; on 401 authenticates again
    /// once and resends; transient failures are retried by the Polly pipeline. The caller disposes the response.
    /// </summary>
    private async Task<HttpResponseMessage> SendAsync(string key, string operation, Func<Uri, HttpRequestMessage> build, CancellationToken cancellationToken,
        HttpCompletionOption completion = HttpCompletionOption.ResponseContentRead)
    {
        try
        {
            return await _retry.ExecuteAsync(async ct =>
            {
                var session = await GetSessionAsync(null, ct).ConfigureAwait(false);
                var response = await SendOnceAsync(session, build, completion, ct).ConfigureAwait(false);
                if (response.StatusCode != HttpStatusCode.Unauthorized)
                {
                    return response;
                }

                response.Dispose();
                session = await GetSessionAsync(session, ct).ConfigureAwait(false);
                return await SendOnceAsync(session, build, completion, ct).ConfigureAwait(false);
            }, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            throw new ObjectStoreException(ObjectStoreErrorKind.Unavailable, key,
                $"Cannot {operation} '{key}': Swift at {_session?.StorageUrl.GetLeftPart(UriPartial.Authority) ?? _options.AuthUrl} did not answer " +
                $"({(ex is OperationCanceledException ? "timed out" : ex.Message)}) after {_options.MaxRetries} retries.", ex);
        }
    }

    private async Task<HttpResponseMessage> SendOnceAsync(SwiftSession session, Func<Uri, HttpRequestMessage> build, HttpCompletionOption completion, CancellationToken cancellationToken)
    {
        using var request = build(session.StorageUrl);
        request.Headers.TryAddWithoutValidation("X-Auth-Token", session.Token);
        return await _http.SendAsync(request, completion, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The current session, or a new one when <paramref name="rejected"/> is the current one (Swift answered 401 to it).</summary>
    private async Task<SwiftSession> GetSessionAsync(SwiftSession? rejected, CancellationToken cancellationToken)
    {
        var current = _session;
        if (current is not null && !ReferenceEquals(current, rejected))
        {
            return current;
        }

        await _authLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_session is not null && !ReferenceEquals(_session, rejected))
            {
                return _session;
            }

            if (rejected is not null)
            {
                Log.Reauthenticating(_logger, _options.AuthUrl);
            }

            return _session = await _authenticator.AuthenticateAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _authLock.Release();
        }
    }

    private static bool IsTransient(Outcome<HttpResponseMessage> outcome, CancellationToken cancellationToken) => outcome switch
    {
        { Exception: HttpRequestException or IOException } => true,
        { Exception: OperationCanceledException } => !cancellationToken.IsCancellationRequested,
        { Result: { } response } => response.StatusCode is HttpStatusCode.RequestTimeout or HttpStatusCode.TooManyRequests
            or HttpStatusCode.InternalServerError or HttpStatusCode.BadGateway or HttpStatusCode.ServiceUnavailable or HttpStatusCode.GatewayTimeout
            || (int)response.StatusCode == 498,
        _ => false,
    };

    private async Task EnsureWrittenAsync(HttpResponseMessage response, string key, string container)
    {
        switch (response.StatusCode)
        {
            case HttpStatusCode.PreconditionFailed:
                throw ObjectStoreException.AlreadyExists(key);
            case HttpStatusCode.NotFound:
                throw ContainerMissing(key, container);
            case HttpStatusCode.UnprocessableEntity:
                throw Corrupt(key, "Swift computed a different MD5 than the one sent (422)");
            default:
                await EnsureSuccessAsync(response, key, "write").ConfigureAwait(false);
                _containerExists |= container == _options.Container;
                break;
        }
    }

    private async Task EnsureSuccessAsync(HttpResponseMessage response, string key, string operation)
    {
        if (response.IsSuccessStatusCode)
        {
            return;
        }

        var status = (int)response.StatusCode;
        string detail;
        try
        {
            detail = (await response.Content.ReadAsStringAsync().ConfigureAwait(false)).Trim();
            detail = detail.Length > 200 ? detail[..200] : detail;
        }
        catch (HttpRequestException)
        {
            detail = "";
        }

        var what = $"Cannot {operation} '{key}' in Swift container '{_options.Container}'";
        throw response.StatusCode switch
        {
            HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden => new ObjectStoreException(ObjectStoreErrorKind.AccessDenied, key,
                $"{what}: access denied ({status}). The user '{_options.Username}' needs read and write access to the container (and to '{_segmentContainer}' for large objects)."),
            HttpStatusCode.NotFound => ObjectStoreException.NotFound(key),
            HttpStatusCode.TooManyRequests => new ObjectStoreException(ObjectStoreErrorKind.Throttled, key,
                $"{what}: Swift is throttling ({status}) after {_options.MaxRetries} retries. Lower WALG_UPLOAD_CONCURRENCY or retry later."),
            _ when status == 498 => new ObjectStoreException(ObjectStoreErrorKind.Throttled, key, $"{what}: Swift is rate-limiting ({status}) after {_options.MaxRetries} retries."),
            >= HttpStatusCode.InternalServerError => new ObjectStoreException(ObjectStoreErrorKind.Unavailable, key,
                $"{what}: server error {status} after {_options.MaxRetries} retries."),
            _ => new ObjectStoreException(ObjectStoreErrorKind.Other, key, $"{what}: {status} {detail}"),
        };
    }

    private ObjectStoreException ContainerMissing(string key, string container) =>
        new(ObjectStoreErrorKind.ContainerNotFound, key,
            $"Swift container '{container}' does not exist for user '{_options.Username}' at {_session?.StorageUrl.ToString() ?? _options.AuthUrl}: create it, or fix WALG_SWIFT_PREFIX.");

    private ObjectStoreException Corrupt(string key, string detail) =>
        new(ObjectStoreErrorKind.Other, key, $"Upload of '{key}' to Swift container '{_options.Container}' was not stored intact: {detail}.");

    private static string ObjectUrl(Uri storageUrl, string container, string? name)
    {
        var url = storageUrl.AbsoluteUri.TrimEnd('/') + "/" + Uri.EscapeDataString(container);
        return name is null ? url : url + "/" + string.Join('/', name.Split('/').Select(Uri.EscapeDataString));
    }

    private static ByteArrayContent Body(byte[] buffer, int length)
    {
        var content = new ByteArrayContent(buffer, 0, length);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        return content;
    }

    private static string? Etag(HttpResponseMessage response) =>
        response.Headers.TryGetValues("ETag", out var values) ? values.FirstOrDefault()?.Trim('"') : null;

    private static byte[] Manifest(Segment[] segments)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartArray();
            foreach (var segment in segments)
            {
                writer.WriteStartObject();
                writer.WriteString("path", "/" + segment.Path);
                writer.WriteString("etag", segment.Etag);
                writer.WriteNumber("size_bytes", segment.Size);
                writer.WriteEndObject();
            }

            writer.WriteEndArray();
        }

        return buffer.ToArray();
    }

    /// <summary>MD5 as Swift uses it (ETag): a transfer checksum, not a security measure.</summary>
#pragma warning disable CA5351
    private static string Md5Hex(ReadOnlySpan<byte> data) => Convert.ToHexStringLower(MD5.HashData(data));
#pragma warning restore CA5351

    private sealed record Segment(string Path, string Etag, long Size);

    /// <summary>The body of a GET response; disposing it releases the connection.</summary>
    private sealed class ResponseStream(HttpResponseMessage response, Stream inner) : Stream
    {
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => response.Content.Headers.ContentLength ?? throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, count);
        public override int Read(Span<byte> buffer) => inner.Read(buffer);
        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            inner.ReadAsync(buffer, offset, count, cancellationToken);
        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => inner.ReadAsync(buffer, cancellationToken);
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                inner.Dispose();
                response.Dispose();
            }

            base.Dispose(disposing);
        }
    }
}
