using System.Globalization;
using System.IO.Pipelines;
using System.Net;
using System.Net.Http.Headers;
using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;
using System.Security.Cryptography;
using Google;
using Google.Apis.Auth.OAuth2;
using Google.Apis.Auth.OAuth2.Responses;
using Google.Cloud.Storage.V1;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Polly;
using Polly.Retry;

namespace PgArchive.Storage;

/// <summary>
/// Stores objects in one Google Cloud Storage bucket, under an optional folder prefix: the layout WAL-G writes for
/// <c>WALG_GS_PREFIX=gs://bucket/folder</c>.
/// </summary>
/// <remarks>
/// <para>
/// Uploads use the resumable protocol in chunks of <see cref="GcsObjectStoreOptions.ChunkSize"/>: memory stays at
/// about one chunk whatever the length; the object becomes visible only when the last chunk is accepted; the SDK
/// sends each chunk's CRC32C and resumes a chunk that failed. <see cref="PutMode.CreateNew"/> sends
/// <c>ifGenerationMatch=0</c>, so exactly one of several concurrent writers wins. Full reads are checked against the
/// object's CRC32C/MD5 (<c>x-goog-hash</c>); ranged reads are not (the hash describes the whole object).
/// </para>
/// <para>
/// Retries: metadata, listing and delete requests use the SDK's retry (408, 429, 5xx) with
/// <see cref="GcsObjectStoreOptions.RetryDelay"/> back-off; upload chunks use the resumable protocol's own recovery;
/// opening a read is retried with exponential back-off and jitter until its first byte arrives; a download that breaks
/// off after that is resumed from the byte reached (<see cref="ResumingDownloadStream"/>: a ranged read on the
/// condition that the generation is unchanged). Each request gets at most <see cref="GcsObjectStoreOptions.MaxRetries"/>
/// retries, and each read as many resumes.
/// </para>
/// <para>
/// Least privilege: <c>roles/storage.objectUser</c> on the bucket (<c>storage.objects.create</c>, <c>get</c>,
/// <c>list</c>, <c>delete</c>). The store never creates or deletes buckets.
/// </para>
/// </remarks>
public sealed class GcsObjectStore : IObjectStore, ISelfRetryingObjectStore
{
    private const string ContentType = "application/octet-stream";

    // The SDK's download buffer (it allocates ChunkSize + 1 bytes per read): small and constant.
    private const int DownloadBufferSize = 1 << 20;

    private static readonly PipeOptions DownloadPipeOptions = new(
        pauseWriterThreshold: 4 << 20, resumeWriterThreshold: 2 << 20, minimumSegmentSize: 64 << 10, useSynchronizationContext: false);

    private readonly StorageClient _client;
    private readonly string _bucket;
    private readonly string _root;
    private readonly int _chunkSize;
    private readonly int _deleteConcurrency;
    private readonly RetryOptions _retry;
    private readonly ResiliencePipeline _openRetry;
    private readonly int _maxRetries;
    private readonly TimeSpan _retryDelay;
    private readonly ILogger _logger;

    /// <summary>Creates a store over a client the caller owns (and configured: credentials, endpoint, HTTP retries).</summary>
    /// <param name="client">The Cloud Storage client.</param>
    /// <param name="options">Bucket, prefix, chunk size and retry timing; credential and endpoint settings are ignored.</param>
    public GcsObjectStore(StorageClient client, GcsObjectStoreOptions options)
        : this(client, options, null)
    {
    }

    /// <summary>Creates a store over a client the caller owns, logging to <paramref name="logger"/>.</summary>
    /// <param name="client">The Cloud Storage client.</param>
    /// <param name="options">Bucket, prefix, chunk size and retry timing; credential and endpoint settings are ignored.</param>
    /// <param name="logger">Where resumed downloads are logged (event GcsReadResumed).</param>
    public GcsObjectStore(StorageClient client, GcsObjectStoreOptions options, ILogger<GcsObjectStore>? logger)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(options);
        GcsObjectStoreOptionsValidator.ThrowIfInvalidForStore(options);
        _client = client;
        _bucket = options.BucketName;
        _root = NormalizePrefix(options.Prefix);
        _chunkSize = options.ChunkSize;
        _deleteConcurrency = options.DeleteConcurrency;
        var delay = options.RetryDelay;
        _maxRetries = options.MaxRetries;
        _retryDelay = delay;
        _logger = logger ?? NullLogger<GcsObjectStore>.Instance;
        var maxDelay = options.MaxRetryDelay;
        _retry = options.MaxRetries == 0
            ? RetryOptions.Never
            : new RetryOptions(new RetryTiming(delay, maxDelay, 2.0), RetryPredicate.RetriableIdempotentErrors);
        _openRetry = options.MaxRetries == 0
            ? ResiliencePipeline.Empty
            : new ResiliencePipelineBuilder().AddRetry(new RetryStrategyOptions
            {
                // A body cut before its first bytes were read (IOException) is read again from the start.
                ShouldHandle = new PredicateBuilder().Handle<GoogleApiException>(IsTransient).Handle<HttpRequestException>()
                    .Handle<IOException>(e => !IsHashFailure(e)),
                MaxRetryAttempts = options.MaxRetries,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = delay,
                MaxDelay = maxDelay,
            }).Build();
    }

    /// <summary>Creates a store and its client from options.</summary>
    public GcsObjectStore(IOptions<GcsObjectStoreOptions> options)
        : this(CreateClient((options ?? throw new ArgumentNullException(nameof(options))).Value), options.Value)
    {
    }

    /// <summary>The SDK client.</summary>
    public StorageClient Client => _client;

    /// <summary>The bucket.</summary>
    public string BucketName => _bucket;

    /// <summary>The folder inside the bucket that is the archive's root, with a trailing '/' unless empty.</summary>
    public string Prefix => _root;

    /// <summary>
    /// Builds the client <paramref name="options"/> describe: the emulator without credentials, else the service-account
    /// key file, else application default credentials; with <see cref="GcsObjectStoreOptions.MaxRetries"/> tries per
    /// request and <see cref="GcsObjectStoreOptions.RequestTimeout"/>.
    /// </summary>
    /// <exception cref="PgArchiveConfigurationException">Credentials cannot be loaded or a setting is malformed (the message names it, never a secret).</exception>
    public static StorageClient CreateClient(GcsObjectStoreOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var builder = new StorageClientBuilder();
        if (!string.IsNullOrWhiteSpace(options.EmulatorHost))
        {
            var host = options.EmulatorHost.Trim();
            if (!host.StartsWith("http://", StringComparison.OrdinalIgnoreCase) && !host.StartsWith("https://", StringComparison.OrdinalIgnoreCase))
            {
                host = "http://" + host;
            }

            if (!Uri.TryCreate(host, UriKind.Absolute, out var emulator))
            {
                throw new PgArchiveConfigurationException("Gcs:EmulatorHost (STORAGE_EMULATOR_HOST) must be host:port or an http(s) URI, e.g. 127.0.0.1:4443.");
            }

            builder.BaseUri = JsonApiBase(emulator);
            builder.UnauthenticatedAccess = true;
        }
        else
        {
            if (options.Endpoint is { } endpoint)
            {
                builder.BaseUri = JsonApiBase(endpoint);
            }

            if (!string.IsNullOrWhiteSpace(options.CredentialsPath))
            {
                builder.GoogleCredential = LoadServiceAccount(options.CredentialsPath);
            }
        }

        StorageClient client;
        try
        {
            client = builder.Build();
        }
        catch (InvalidOperationException ex)
        {
            throw new PgArchiveConfigurationException(
                "No Google Cloud credentials found: set GOOGLE_APPLICATION_CREDENTIALS to a credential file (or Gcs:CredentialsPath to a service-account key), "
                + "run on Google Cloud with a service account attached, or point STORAGE_EMULATOR_HOST at an emulator.", ex);
        }

        client.Service.HttpClient.MessageHandler.NumTries = Math.Clamp(options.MaxRetries + 1, 1, 20);
        client.Service.HttpClient.Timeout = options.RequestTimeout > TimeSpan.Zero ? options.RequestTimeout : TimeSpan.FromMinutes(5);
        return client;
    }

    /// <inheritdoc />
    public async Task PutAsync(string key, Stream content, PutMode mode = PutMode.Overwrite, CancellationToken cancellationToken = default)
    {
        ObjectKey.Validate(key);
        ArgumentNullException.ThrowIfNull(content);
        cancellationToken.ThrowIfCancellationRequested();
        var options = new UploadObjectOptions { ChunkSize = _chunkSize };
        if (mode == PutMode.CreateNew)
        {
            options.IfGenerationMatch = 0;
        }

        var source = new ContentStream(content);
        try
        {
            await _client.UploadObjectAsync(_bucket, _root + key, ContentType, source, options, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception) when (source.Failure is { } contentFailure)
        {
            // The content failed, not the store: report the content's exception, as it was thrown.
            ExceptionDispatchInfo.Throw(contentFailure);
        }
        catch (Exception ex) when (Translate(key, ex, mode) is { } translated)
        {
            throw translated;
        }
    }

    /// <inheritdoc />
    public async Task<Stream> OpenReadAsync(string key, ByteRange? range = null, CancellationToken cancellationToken = default)
    {
        ObjectKey.Validate(key);
        cancellationToken.ThrowIfCancellationRequested();
        if (range is { Length: 0 })
        {
            _ = await GetInfoAsync(key, cancellationToken).ConfigureAwait(false) ?? throw ObjectStoreException.NotFound(key);
            return new MemoryStream([], writable: false);
        }

        var options = new DownloadObjectOptions { ChunkSize = DownloadBufferSize, DownloadValidationMode = DownloadValidationMode.Always };
        var resume = new ReadResume();
        if (range is { } r)
        {
            // Look at the object first: a range at or past its end reads nothing (GCS answers 416 there, the emulator
            // the whole object), and the range is then read from exactly that generation.
            var item = await GetObjectAsync(key, cancellationToken).ConfigureAwait(false) ?? throw ObjectStoreException.NotFound(key);
            if (r.Offset >= (long)(item.Size ?? 0))
            {
                return new MemoryStream([], writable: false);
            }

            options.Range = new RangeHeaderValue(r.Offset, r.Length is { } length ? r.Offset + length - 1 : null);
            options.IfGenerationMatch = item.Generation;
            // x-goog-hash describes the whole object, not the range.
            options.DownloadValidationMode = DownloadValidationMode.Never;
            resume.Generation = item.Generation;
            resume.Start = r.Offset;
            resume.Length = Math.Min(r.Length ?? long.MaxValue, (long)(item.Size ?? 0) - r.Offset);
        }

        Stream first;
        try
        {
            first = await _openRetry.ExecuteAsync(
                async token => await StartDownloadAsync(_root + key, options, token).ConfigureAwait(false), cancellationToken).ConfigureAwait(false);
        }
        catch (GoogleApiException ex) when (ex.HttpStatusCode == HttpStatusCode.RequestedRangeNotSatisfiable)
        {
            // The range starts at or past the end: read nothing, as from a file.
            _ = await GetInfoAsync(key, cancellationToken).ConfigureAwait(false) ?? throw ObjectStoreException.NotFound(key, ex);
            return new MemoryStream([], writable: false);
        }
        catch (Exception ex) when (Translate(key, ex, PutMode.Overwrite) is { } translated)
        {
            throw translated;
        }

        if (_maxRetries == 0)
        {
            return first;
        }

        var resuming = new ResumingDownloadStream(first, resume.Length, _maxRetries, _retryDelay,
            (position, ct) => ReadRestAsync(key, resume, position, ct),
            (failure, position) => new ObjectStoreException(ObjectStoreErrorKind.Unavailable, key,
                $"Cannot read '{key}' in bucket '{_bucket}': the download broke off after {position} bytes, also after {_maxRetries} resumed attempts ({failure.Message}).",
                failure),
            (position, failure) => Log.ReadResumed(_logger, key, position, failure.Message));
        return range is null ? new ResumedMd5Check(resuming, resume, key) : resuming;
    }

    /// <summary>
    /// The rest of a read from <paramref name="position"/> bytes into it, from the generation read so far. A full read
    /// does not know its generation (the SDK does not tell): the first resume takes the current one, and its MD5 is
    /// checked at the end of the read (<see cref="ResumedMd5Check"/>), so that bytes of two generations never pass as one.
    /// </summary>
    private async Task<Stream> ReadRestAsync(string key, ReadResume resume, long position, CancellationToken cancellationToken)
    {
        // The generation is also pinned by ifGenerationMatch below (GCS answers 412); looking first costs one request
        // per resume and also catches a replacement where the precondition is not enforced (the emulator's downloads).
        var item = await GetObjectAsync(key, cancellationToken).ConfigureAwait(false) ?? throw Replaced(key, position);
        if (resume.Generation is { } generation && item.Generation != generation)
        {
            throw Replaced(key, position);
        }

        if (resume.Generation is null)
        {
            if (string.IsNullOrEmpty(item.Md5Hash))
            {
                throw new ObjectStoreException(ObjectStoreErrorKind.Other, key,
                    $"Cannot read '{key}' in bucket '{_bucket}': the download broke off after {position} bytes, and the object has no MD5 (a composite object) to check a resumed read against.");
            }

            resume.Generation = item.Generation;
            resume.Md5 = item.Md5Hash;
            resume.Length = (long)(item.Size ?? 0);
        }

        var from = resume.Start + position;
        if (position >= resume.Length)
        {
            return new MemoryStream([], writable: false);
        }

        var options = new DownloadObjectOptions
        {
            ChunkSize = DownloadBufferSize,
            Range = new RangeHeaderValue(from, resume.Start + resume.Length - 1),
            IfGenerationMatch = resume.Generation,
            // x-goog-hash describes the whole object, not the range.
            DownloadValidationMode = DownloadValidationMode.Never,
        };
        try
        {
            return await StartDownloadAsync(_root + key, options, cancellationToken).ConfigureAwait(false);
        }
        catch (GoogleApiException ex) when (ex.HttpStatusCode == HttpStatusCode.PreconditionFailed)
        {
            throw Replaced(key, position, ex);
        }
        catch (Exception ex) when (Translate(key, ex, PutMode.Overwrite) is { } translated)
        {
            throw translated;
        }
    }

    private ObjectStoreException Replaced(string key, long position, Exception? inner = null) =>
        new(ObjectStoreErrorKind.Other, key,
            $"Cannot read '{key}' in bucket '{_bucket}': it was replaced or deleted while being read (its generation changed after {position} bytes); read it again.", inner);

    /// <summary>
    /// Runs the SDK's download into a bounded pipe and returns the pipe's read end once the first bytes (or the end)
    /// arrived, so that a missing object fails here and not on the first read.
    /// </summary>
    private async Task<Stream> StartDownloadAsync(string name, DownloadObjectOptions options, CancellationToken cancellationToken)
    {
        var pipe = new Pipe(DownloadPipeOptions);
        var lifetime = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var download = Task.Run(async () =>
        {
            try
            {
                var sink = pipe.Writer.AsStream(leaveOpen: true);
                await using (sink.ConfigureAwait(false))
                {
                    await _client.DownloadObjectAsync(_bucket, name, sink, options, lifetime.Token).ConfigureAwait(false);
                }

                await pipe.Writer.CompleteAsync().ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                await pipe.Writer.CompleteAsync(ex).ConfigureAwait(false);
            }
        }, CancellationToken.None);

        try
        {
            var first = await pipe.Reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            pipe.Reader.AdvanceTo(first.Buffer.Start);
        }
        catch
        {
            await lifetime.CancelAsync().ConfigureAwait(false);
            await download.ConfigureAwait(false);
            await pipe.Reader.CompleteAsync().ConfigureAwait(false);
            lifetime.Dispose();
            throw;
        }

        return new DownloadStream(this, name[_root.Length..], pipe.Reader, download, lifetime);
    }

    /// <inheritdoc />
    public async Task<ObjectInfo?> GetInfoAsync(string key, CancellationToken cancellationToken = default)
    {
        ObjectKey.Validate(key);
        cancellationToken.ThrowIfCancellationRequested();
        return await GetObjectAsync(key, cancellationToken).ConfigureAwait(false) is { } item ? ToObjectInfo(key, item) : null;
    }

    private async Task<Google.Apis.Storage.v1.Data.Object?> GetObjectAsync(string key, CancellationToken cancellationToken)
    {
        try
        {
            return await _client.GetObjectAsync(_bucket, _root + key, new GetObjectOptions { RetryOptions = _retry }, cancellationToken).ConfigureAwait(false);
        }
        catch (GoogleApiException ex) when (ex.HttpStatusCode == HttpStatusCode.NotFound && !IsBucketMissing(ex))
        {
            return null;
        }
        catch (Exception ex) when (Translate(key, ex, PutMode.Overwrite) is { } translated)
        {
            throw translated;
        }
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<ObjectInfo> ListAsync(string prefix, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ObjectKey.ValidatePrefix(prefix);
        cancellationToken.ThrowIfCancellationRequested();
        var options = new ListObjectsOptions { PageSize = 1000, RetryOptions = _retry, Fields = "items(name,size,updated,timeCreated),nextPageToken" };
        var pages = _client.ListObjectsAsync(_bucket, _root + prefix, options).AsRawResponses().GetAsyncEnumerator(cancellationToken);
        await using (pages.ConfigureAwait(false))
        {
            while (true)
            {
                try
                {
                    if (!await pages.MoveNextAsync().ConfigureAwait(false))
                    {
                        yield break;
                    }
                }
                catch (Exception ex) when (Translate(null, ex, PutMode.Overwrite) is { } translated)
                {
                    throw translated;
                }

                foreach (var item in pages.Current.Items ?? [])
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    yield return ToObjectInfo(item.Name[_root.Length..], item);
                }
            }
        }
    }

    /// <inheritdoc />
    public async Task DeleteAsync(IEnumerable<string> keys, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(keys);
        var unique = keys.Distinct(StringComparer.Ordinal).ToList();
        foreach (var key in unique)
        {
            ObjectKey.Validate(key);
        }

        cancellationToken.ThrowIfCancellationRequested();
        await Parallel.ForEachAsync(unique, new ParallelOptions { MaxDegreeOfParallelism = _deleteConcurrency, CancellationToken = cancellationToken },
            async (key, ct) =>
            {
                try
                {
                    await _client.DeleteObjectAsync(_bucket, _root + key, new DeleteObjectOptions { RetryOptions = _retry }, ct).ConfigureAwait(false);
                }
                catch (GoogleApiException ex) when (ex.HttpStatusCode == HttpStatusCode.NotFound && !IsBucketMissing(ex))
                {
                    // Already gone.
                }
                catch (Exception ex) when (Translate(key, ex, PutMode.Overwrite) is { } translated)
                {
                    throw translated;
                }
            }).ConfigureAwait(false);
    }

    /// <summary>The store's exception for an SDK failure, or null to let <paramref name="ex"/> through (cancellation, bugs).</summary>
    internal ObjectStoreException? Translate(string? key, Exception ex, PutMode mode)
    {
        var where = $"bucket '{_bucket}'{(_client.Service?.BaseUri is { } baseUri ? $" ({baseUri})" : "")}";
        var what = key is null ? where : $"'{key}' in {where}";
        switch (ex)
        {
            case ObjectStoreException or OperationCanceledException:
                return null;
            case GoogleApiException api:
                var status = api.HttpStatusCode;
                var reason = api.Error?.Errors is { Count: > 0 } errors ? errors[0].Reason : null;
                var detail = string.Create(CultureInfo.InvariantCulture, $"HTTP {(int)status}{(string.IsNullOrEmpty(reason) ? "" : " " + reason)}");
                if (IsBucketMissing(api) || (status == HttpStatusCode.NotFound && key is null))
                {
                    return new ObjectStoreException(ObjectStoreErrorKind.ContainerNotFound, key,
                        $"The bucket '{_bucket}' does not exist: create it (gcloud storage buckets create gs://{_bucket}) or correct WALG_GS_PREFIX.", ex);
                }

                if (mode == PutMode.CreateNew && status == HttpStatusCode.PreconditionFailed)
                {
                    return ObjectStoreException.AlreadyExists(key ?? "", ex);
                }

                return (int)status switch
                {
                    404 => ObjectStoreException.NotFound(key ?? "", ex),
                    401 => new ObjectStoreException(ObjectStoreErrorKind.AccessDenied, key,
                        $"Google Cloud Storage refused the credentials for {what} ({detail}): check GOOGLE_APPLICATION_CREDENTIALS or the "
                        + "service-account key (revoked, deleted or of another project).", ex),
                    403 => new ObjectStoreException(ObjectStoreErrorKind.AccessDenied, key,
                        $"The credentials lack a permission on {what} ({detail}): grant roles/storage.objectUser on the bucket to the service account.", ex),
                    429 => new ObjectStoreException(ObjectStoreErrorKind.Throttled, key,
                        $"Google Cloud Storage is rate-limiting requests on {what} ({detail}) after the configured retries: try again later, or lower WALG_UPLOAD_CONCURRENCY.", ex),
                    408 or >= 500 => new ObjectStoreException(ObjectStoreErrorKind.Unavailable, key,
                        $"Google Cloud Storage failed on {what} ({detail}) after the configured retries: try again later.", ex),
                    _ => new ObjectStoreException(ObjectStoreErrorKind.Other, key, $"Google Cloud Storage refused the request on {what} ({detail}).", ex),
                };
            case TokenResponseException token:
                return new ObjectStoreException(ObjectStoreErrorKind.AccessDenied, key,
                    $"Google refused to issue an access token for {what} ({token.Error?.Error ?? "no error code"}): check GOOGLE_APPLICATION_CREDENTIALS "
                    + "or the service-account key (revoked, deleted or of another project), and that this machine's clock is right.", ex);
            case IOException io when IsHashFailure(io):
                return new ObjectStoreException(ObjectStoreErrorKind.Other, key,
                    $"Integrity check failed for {what}: the CRC32C/MD5 of the bytes read differs from the object's. "
                    + "The object is damaged or was replaced while it was read; read it again.", ex);
            case HttpRequestException or IOException or TimeoutException:
                return new ObjectStoreException(ObjectStoreErrorKind.Unavailable, key,
                    $"Cannot reach {where} after the configured retries: check the endpoint (STORAGE_EMULATOR_HOST, Gcs:Endpoint), DNS and the network.", ex);
            default:
                return null;
        }
    }

    private static bool IsTransient(GoogleApiException ex) => (int)ex.HttpStatusCode is 408 or 429 or >= 500;

    // The SDK reports a CRC32C/MD5 mismatch of a download as an IOException whose message says "hash".
    private static bool IsHashFailure(IOException ex) => ex.Message.Contains("hash", StringComparison.OrdinalIgnoreCase);

    // Objects and buckets both answer 404; GCS says which one is missing only in the message.
    private static bool IsBucketMissing(GoogleApiException ex) =>
        ex.HttpStatusCode == HttpStatusCode.NotFound
        && (ex.Error?.Message ?? ex.Message).Contains("bucket does not exist", StringComparison.OrdinalIgnoreCase);

    private static ObjectInfo ToObjectInfo(string key, Google.Apis.Storage.v1.Data.Object item) =>
        new(key, (long)(item.Size ?? 0), item.UpdatedDateTimeOffset ?? item.TimeCreatedDateTimeOffset ?? DateTimeOffset.MinValue);

    private static string NormalizePrefix(string? prefix)
    {
        var trimmed = (prefix ?? "").Trim('/');
        if (trimmed.Length == 0)
        {
            return "";
        }

        ObjectKey.Validate(trimmed, nameof(GcsObjectStoreOptions.Prefix));
        return trimmed + "/";
    }

    private static string JsonApiBase(Uri endpoint)
    {
        var text = endpoint.GetLeftPart(UriPartial.Path).TrimEnd('/');
        return endpoint.AbsolutePath is "" or "/" ? text + "/storage/v1/" : text + "/";
    }

    private static GoogleCredential LoadServiceAccount(string path)
    {
        try
        {
            return CredentialFactory.FromFile<ServiceAccountCredential>(path).ToGoogleCredential();
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException or UnauthorizedAccessException)
        {
            throw new PgArchiveConfigurationException(
                $"Cannot read the service-account key file '{path}' (Gcs:CredentialsPath): check that it exists and is readable by this user.", ex);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // The SDK's message may quote the file's content: keep it out, and out of the inner exception too.
            throw new PgArchiveConfigurationException(
                $"'{path}' (Gcs:CredentialsPath) is not a service-account key file: download a JSON key of the service account "
                + $"(gcloud iam service-accounts keys create), or use GOOGLE_APPLICATION_CREDENTIALS for other credential types. ({ex.GetType().Name})");
        }
    }

    /// <summary>The content of an upload: remembers whether reading it failed, to tell content failures from storage ones.</summary>
    private sealed class ContentStream(Stream inner) : Stream
    {
        public Exception? Failure { get; private set; }

        public override bool CanRead => true;
        public override bool CanSeek => inner.CanSeek;
        public override bool CanWrite => false;
        public override long Length => inner.Length;
        public override long Position { get => inner.Position; set => inner.Position = value; }

        public override int Read(byte[] buffer, int offset, int count)
        {
            try
            {
                return inner.Read(buffer, offset, count);
            }
            catch (Exception ex)
            {
                Failure ??= ex;
                throw;
            }
        }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            try
            {
                return await inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                Failure ??= ex;
                throw;
            }
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override long Seek(long offset, SeekOrigin origin) => inner.Seek(offset, origin);
        public override void Flush() { }
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }

    /// <summary>What a read needs to resume: the generation (once known), where it starts, and how long it is.</summary>
    private sealed class ReadResume
    {
        public long? Generation { get; set; }

        public long Start { get; set; }

        public long? Length { get; set; }

        /// <summary>Set when a full read resumed: the base64 MD5 of the generation it resumed from.</summary>
        public string? Md5 { get; set; }
    }

    /// <summary>
    /// A full read: hashes the bytes as they pass, and, when the read was resumed (the SDK's own check covers only a
    /// download that was never cut), compares them at the end with the MD5 of the generation it resumed from.
    /// </summary>
    private sealed class ResumedMd5Check(Stream inner, ReadResume resume, string key) : Stream
    {
        private readonly IncrementalHash _md5 = IncrementalHash.CreateHash(HashAlgorithmName.MD5);
        private bool _checked;

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => Account(buffer.AsSpan(offset, inner.Read(buffer, offset, count)), count);

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            var n = await inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
            return Account(buffer.Span[..n], buffer.Length);
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        private int Account(ReadOnlySpan<byte> data, int asked)
        {
            if (data.Length > 0)
            {
                _md5.AppendData(data);
            }
            else if (asked > 0 && !_checked && resume.Md5 is { } expected)
            {
                _checked = true;
                if (!string.Equals(Convert.ToBase64String(_md5.GetHashAndReset()), expected, StringComparison.Ordinal))
                {
                    throw new ObjectStoreException(ObjectStoreErrorKind.Other, key,
                        $"Integrity check failed for '{key}': the bytes of a resumed read differ from the object's MD5. "
                        + "The object was replaced while it was read; read it again.");
                }
            }

            return data.Length;
        }

        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override async ValueTask DisposeAsync()
        {
            await inner.DisposeAsync().ConfigureAwait(false);
            _md5.Dispose();
            await base.DisposeAsync().ConfigureAwait(false);
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                inner.Dispose();
                _md5.Dispose();
            }

            base.Dispose(disposing);
        }
    }

    /// <summary>The read end of a download: maps SDK failures; disposing it stops the download.</summary>
    private sealed class DownloadStream(GcsObjectStore store, string key, PipeReader reader, Task download, CancellationTokenSource lifetime) : Stream
    {
        private readonly Stream _inner = reader.AsStream(leaveOpen: true);
        private bool _disposed;

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count)
        {
            try
            {
                return _inner.Read(buffer, offset, count);
            }
            catch (Exception ex) when (store.Translate(key, ex, PutMode.Overwrite) is { } translated)
            {
                throw translated;
            }
        }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            try
            {
                return await _inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (store.Translate(key, ex, PutMode.Overwrite) is { } translated)
            {
                throw translated;
            }
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override async ValueTask DisposeAsync()
        {
            if (!_disposed)
            {
                _disposed = true;
                await lifetime.CancelAsync().ConfigureAwait(false);
                await reader.CompleteAsync().ConfigureAwait(false);
                await download.ConfigureAwait(false);
                lifetime.Dispose();
            }

            await base.DisposeAsync().ConfigureAwait(false);
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing && !_disposed)
            {
                _disposed = true;
                lifetime.Cancel();
                reader.Complete();
                download.GetAwaiter().GetResult();
                lifetime.Dispose();
            }

            base.Dispose(disposing);
        }
    }
}
