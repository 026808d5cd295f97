using System.Buffers;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Text;
using Azure;
using Azure.Core;
using Azure.Identity;
using Azure.Storage;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Blobs.Specialized;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace PgArchive.Storage;

/// <summary>
/// Stores objects as block blobs in one Azure Blob Storage container, under an optional folder prefix: the layout
/// WAL-G writes for <c>WALG_AZ_PREFIX=azure://container/folder</c>.
/// </summary>
/// <remarks>
/// <para>
/// Uploads read the content one block at a time (<see cref="AzureBlobObjectStoreOptions.BlockSize"/>): content that
/// fits one block goes up in one Put Blob request; longer content is staged as blocks, up to
/// <see cref="AzureBlobObjectStoreOptions.MaxConcurrency"/> in parallel, and becomes visible only when the block list
/// is committed. Memory per upload stays under block size × (concurrency + 1), whatever the length. Every request
/// carries the MD5 of its body (the service rejects a corrupted one), and the MD5 of the whole object is stored as
/// its Content-MD5, which full reads check. <see cref="PutMode.CreateNew"/> sends <c>If-None-Match: *</c>, so exactly
/// one of several concurrent writers wins.
/// </para>
/// <para>
/// Least privilege: the data-plane role <em>Storage Blob Data Contributor</em> on the container (read, write, delete,
/// list), or a SAS with permissions <c>racwdl</c> (<c>r</c> read, <c>a</c>/<c>c</c>/<c>w</c> write, <c>d</c> delete,
/// <c>l</c> list). The store never creates or deletes containers.
/// </para>
/// </remarks>
public sealed class AzureBlobObjectStore : IObjectStore, ISelfRetryingObjectStore
{
    private readonly BlobContainerClient _container;
    private readonly string _root;
    private readonly int _blockSize;
    private readonly int _maxConcurrency;
    private readonly int _deleteConcurrency;
    private readonly ArrayPool<byte> _buffers;
    private readonly ILogger _logger;

    /// <summary>Creates a store over a container client the caller owns (and configured: credentials, retries, transport).</summary>
    /// <param name="container">The container that holds the archive.</param>
    /// <param name="options">Prefix, block size and concurrency; credential and endpoint settings are ignored.</param>
    /// <param name="logger">Where the store logs (abandoned uploads, at debug level).</param>
    public AzureBlobObjectStore(BlobContainerClient container, AzureBlobObjectStoreOptions? options = null, ILogger<AzureBlobObjectStore>? logger = null)
    {
        _logger = logger ?? NullLogger<AzureBlobObjectStore>.Instance;
        ArgumentNullException.ThrowIfNull(container);
        options ??= new AzureBlobObjectStoreOptions();
        AzureBlobObjectStoreOptionsValidator.ThrowIfInvalidForStore(options);
        _container = container;
        _root = NormalizePrefix(options.Prefix);
        _blockSize = options.BlockSize;
        _maxConcurrency = options.MaxConcurrency;
        _deleteConcurrency = options.DeleteConcurrency;
        _buffers = ArrayPool<byte>.Create(_blockSize, _maxConcurrency + 1);
    }

    /// <summary>Creates a store and its container client from options.</summary>
    public AzureBlobObjectStore(IOptions<AzureBlobObjectStoreOptions> options, ILogger<AzureBlobObjectStore>? logger = null)
        : this(CreateContainerClient((options ?? throw new ArgumentNullException(nameof(options))).Value), options.Value, logger)
    {
    }

    /// <summary>The SDK client of the container.</summary>
    public BlobContainerClient ContainerClient => _container;

    /// <summary>The folder inside the container that is the archive's root, with a trailing '/' unless empty.</summary>
    public string Prefix => _root;

    /// <summary>
    /// Builds the container client <paramref name="options"/> describe: connection string, else account key, else SAS,
    /// else <paramref name="credential"/>, else <c>DefaultAzureCredential</c>.
    /// </summary>
    /// <param name="options">Container, endpoint, credentials and retries.</param>
    /// <param name="credential">The Microsoft Entra ID credential to use when no key, SAS or connection string is set.</param>
    /// <exception cref="PgArchiveConfigurationException">A setting is missing or malformed (the message names it, never its value).</exception>
    public static BlobContainerClient CreateContainerClient(AzureBlobObjectStoreOptions options, TokenCredential? credential = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (string.IsNullOrWhiteSpace(options.ContainerName))
        {
            throw new PgArchiveConfigurationException(
                "AzureBlob:ContainerName is required: set WALG_AZ_PREFIX=azure://<container>/<folder> (or the option).");
        }

        var clientOptions = CreateClientOptions(options);
        if (!string.IsNullOrWhiteSpace(options.ConnectionString))
        {
            try
            {
                return new BlobContainerClient(options.ConnectionString, options.ContainerName, clientOptions);
            }
            catch (Exception ex) when (ex is FormatException or ArgumentException or InvalidOperationException)
            {
                // The SDK's message may quote the string: keep it out of ours.
                throw new PgArchiveConfigurationException(
                    "The Azure storage connection string (AZURE_STORAGE_CONNECTION_STRING) is malformed: expected "
                    + "'DefaultEndpointsProtocol=https;AccountName=...;AccountKey=...;' or one with BlobEndpoint=... and SharedAccessSignature=....");
            }
        }

        var containerUri = ContainerUri(options);
        if (!string.IsNullOrWhiteSpace(options.AccountKey))
        {
            var account = options.AccountName;
            if (string.IsNullOrWhiteSpace(account))
            {
                throw new PgArchiveConfigurationException("AzureBlob:AccountName (AZURE_STORAGE_ACCOUNT) is required with an account key.");
            }

            StorageSharedKeyCredential sharedKey;
            try
            {
                sharedKey = new StorageSharedKeyCredential(account, options.AccountKey.Trim());
            }
            catch (FormatException)
            {
                throw new PgArchiveConfigurationException(
                    "The Azure storage account key (AZURE_STORAGE_ACCESS_KEY) is not valid base64: copy key1 or key2 of the account as shown by the portal or 'az storage account keys list'.");
            }

            return new BlobContainerClient(containerUri, sharedKey, clientOptions);
        }

        if (!string.IsNullOrWhiteSpace(options.SasToken))
        {
            return new BlobContainerClient(containerUri, new AzureSasCredential(options.SasToken.Trim().TrimStart('?')), clientOptions);
        }

        var tokenCredential = credential ?? new DefaultAzureCredential(new DefaultAzureCredentialOptions
        {
            ManagedIdentityClientId = string.IsNullOrWhiteSpace(options.ManagedIdentityClientId) ? null : options.ManagedIdentityClientId,
        });
        return new BlobContainerClient(containerUri, tokenCredential, clientOptions);
    }

    /// <summary>The SDK options <paramref name="options"/> describe: retries (exponential with jitter) and the per-try timeout.</summary>
    public static BlobClientOptions CreateClientOptions(AzureBlobObjectStoreOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var clientOptions = new BlobClientOptions();
        clientOptions.Retry.Mode = RetryMode.Exponential;
        clientOptions.Retry.MaxRetries = options.MaxRetries;
        clientOptions.Retry.Delay = options.RetryDelay;
        clientOptions.Retry.MaxDelay = options.MaxRetryDelay;
        clientOptions.Retry.NetworkTimeout = options.TryTimeout;
        clientOptions.Diagnostics.IsLoggingContentEnabled = false;
        return clientOptions;
    }

    /// <inheritdoc />
    public async Task PutAsync(string key, Stream content, PutMode mode = PutMode.Overwrite, CancellationToken cancellationToken = default)
    {
        ObjectKey.Validate(key);
        ArgumentNullException.ThrowIfNull(content);
        cancellationToken.ThrowIfCancellationRequested();
        var blob = _container.GetBlockBlobClient(_root + key);
        var conditions = mode == PutMode.CreateNew ? new BlobRequestConditions { IfNoneMatch = ETag.All } : null;

        var first = _buffers.Rent(_blockSize);
        var handedOver = false;
        try
        {
            var length = await ReadBlockAsync(content, first, cancellationToken).ConfigureAwait(false);
            if (length < _blockSize)
            {
                // Fits one request: Put Blob, created and visible at once.
                var md5 = Md5(first.AsSpan(0, length));
                var options = new BlobUploadOptions
                {
                    HttpHeaders = new BlobHttpHeaders { ContentType = "application/octet-stream", ContentHash = md5 },
                    Conditions = conditions,
                    // One Put Blob request (the content is shorter than the first transfer), its body checked by MD5.
                    TransferOptions = new StorageTransferOptions { InitialTransferSize = _blockSize, MaximumTransferSize = _blockSize, MaximumConcurrency = 1 },
                    TransferValidation = new UploadTransferValidationOptions { ChecksumAlgorithm = StorageChecksumAlgorithm.MD5 },
                };
                using var body = new MemoryStream(first, 0, length, writable: false);
                await GuardAsync(key, mode, () => blob.UploadAsync(body, options, cancellationToken)).ConfigureAwait(false);
                return;
            }

            handedOver = true;
            await PutBlocksAsync(key, blob, content, first, conditions, mode, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            if (!handedOver)
            {
                _buffers.Return(first);
            }
        }
    }

    private async Task PutBlocksAsync(string key, BlockBlobClient blob, Stream content, byte[] first, BlobRequestConditions? conditions,
        PutMode mode, CancellationToken cancellationToken)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        using var whole = IncrementalHash.CreateHash(HashAlgorithmName.MD5);
        var uploadId = Guid.NewGuid().ToString("N");
        var blockIds = new List<string>();
        var inFlight = new List<Task>();
        byte[]? buffer = first;
        var length = _blockSize;
        try
        {
            while (true)
            {
                whole.AppendData(buffer, 0, length);
                var blockId = BlockId(uploadId, blockIds.Count);
                blockIds.Add(blockId);
                inFlight.Add(StageBlockAsync(key, blob, blockId, buffer, length, linked.Token));
                buffer = null;

                if (inFlight.Count >= _maxConcurrency)
                {
                    var done = await Task.WhenAny(inFlight).ConfigureAwait(false);
                    inFlight.Remove(done);
                    await done.ConfigureAwait(false);
                }

                buffer = _buffers.Rent(_blockSize);
                length = await ReadBlockAsync(content, buffer, linked.Token).ConfigureAwait(false);
                if (length == 0)
                {
                    break;
                }
            }

            await Task.WhenAll(inFlight).ConfigureAwait(false);
            inFlight.Clear();
        }
        catch
        {
            // The content or a block failed: stop the other blocks, and commit nothing. Staged blocks that are never
            // committed are discarded by the service (after a week at the latest).
            Log.UploadAbandoned(_logger, key, blockIds.Count);
            await linked.CancelAsync().ConfigureAwait(false);
            try
            {
                await Task.WhenAll(inFlight).ConfigureAwait(false);
            }
            catch (Exception)
            {
                // Already failing: the first error is the one reported.
            }

            throw;
        }
        finally
        {
            if (buffer is not null)
            {
                _buffers.Return(buffer);
            }
        }

        var options = new CommitBlockListOptions
        {
            HttpHeaders = new BlobHttpHeaders { ContentType = "application/octet-stream", ContentHash = whole.GetHashAndReset() },
            Conditions = conditions,
        };
        await GuardAsync(key, mode, () => blob.CommitBlockListAsync(blockIds, options, cancellationToken)).ConfigureAwait(false);
    }

    private async Task StageBlockAsync(string key, BlockBlobClient blob, string blockId, byte[] buffer, int length, CancellationToken cancellationToken)
    {
        try
        {
            var md5 = Md5(buffer.AsSpan(0, length));
            using var body = new MemoryStream(buffer, 0, length, writable: false);
            var options = new BlockBlobStageBlockOptions { TransferValidation = Md5Validation(md5) };
            await GuardAsync(key, PutMode.Overwrite, () => blob.StageBlockAsync(blockId, body, options, cancellationToken)).ConfigureAwait(false);
        }
        finally
        {
            _buffers.Return(buffer);
        }
    }

    /// <inheritdoc />
    public async Task<Stream> OpenReadAsync(string key, ByteRange? range = null, CancellationToken cancellationToken = default)
    {
        ObjectKey.Validate(key);
        cancellationToken.ThrowIfCancellationRequested();
        var blob = _container.GetBlobClient(_root + key);
        if (range is { Length: 0 })
        {
            _ = await GetInfoAsync(key, cancellationToken).ConfigureAwait(false) ?? throw ObjectStoreException.NotFound(key);
            return new MemoryStream([], writable: false);
        }

        var options = new BlobDownloadOptions();
        if (range is { } r)
        {
            options.Range = new HttpRange(r.Offset, r.Length);
        }

        Response<BlobDownloadStreamingResult> response;
        try
        {
            response = await blob.DownloadStreamingAsync(options, cancellationToken).ConfigureAwait(false);
        }
        catch (RequestFailedException ex) when (ex.Status == 416)
        {
            // The range starts at or past the end: read nothing, as from a file.
            _ = await GetInfoAsync(key, cancellationToken).ConfigureAwait(false) ?? throw ObjectStoreException.NotFound(key, ex);
            return new MemoryStream([], writable: false);
        }
        catch (Exception ex) when (Translate(key, ex, PutMode.Overwrite) is { } translated)
        {
            throw translated;
        }

        var result = response.Value;
        var expectedMd5 = range is null ? result.Details.ContentHash : null;
        return new AzureReadStream(this, key, result, expectedMd5 is { Length: 16 } ? expectedMd5 : null);
    }

    /// <inheritdoc />
    public async Task<ObjectInfo?> GetInfoAsync(string key, CancellationToken cancellationToken = default)
    {
        ObjectKey.Validate(key);
        cancellationToken.ThrowIfCancellationRequested();
        try
        {
            var properties = await _container.GetBlobClient(_root + key).GetPropertiesAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
            return new ObjectInfo(key, properties.Value.ContentLength, properties.Value.LastModified);
        }
        catch (RequestFailedException ex) when (ex.Status == 404 && ex.ErrorCode != BlobErrorCode.ContainerNotFound)
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
        var pages = _container.GetBlobsAsync(new GetBlobsOptions { Prefix = _root + prefix }, cancellationToken)
            .AsPages(continuationToken: null, pageSizeHint: 5000)
            .GetAsyncEnumerator(cancellationToken);
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
                catch (Exception ex) when (Translate(prefix, ex, PutMode.Overwrite) is { } translated)
                {
                    throw translated;
                }

                foreach (var item in pages.Current.Values)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    yield return new ObjectInfo(item.Name[_root.Length..], item.Properties.ContentLength ?? 0,
                        item.Properties.LastModified ?? DateTimeOffset.MinValue);
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
                    await _container.GetBlobClient(_root + key).DeleteIfExistsAsync(DeleteSnapshotsOption.IncludeSnapshots, cancellationToken: ct).ConfigureAwait(false);
                }
                catch (Exception ex) when (Translate(key, ex, PutMode.Overwrite) is { } translated)
                {
                    throw translated;
                }
            }).ConfigureAwait(false);
    }

    private static string NormalizePrefix(string? prefix)
    {
        var trimmed = (prefix ?? "").Trim('/');
        if (trimmed.Length == 0)
        {
            return "";
        }

        ObjectKey.Validate(trimmed, nameof(AzureBlobObjectStoreOptions.Prefix));
        return trimmed + "/";
    }

    private static Uri ContainerUri(AzureBlobObjectStoreOptions options)
    {
        Uri service;
        if (options.ServiceUri is { } configured)
        {
            service = configured;
        }
        else if (!string.IsNullOrWhiteSpace(options.AccountName))
        {
            service = new Uri($"https://{options.AccountName}.blob.{options.EndpointSuffix.Trim().Trim('.')}");
        }
        else
        {
            throw new PgArchiveConfigurationException(
                "Azure Blob needs a storage account: set AZURE_STORAGE_ACCOUNT (or AzureBlob:AccountName), a blob endpoint (AzureBlob:ServiceUri) or AZURE_STORAGE_CONNECTION_STRING.");
        }

        var builder = new UriBuilder(service) { Query = "" };
        builder.Path = builder.Path.TrimEnd('/') + "/" + Uri.EscapeDataString(options.ContainerName);
        return builder.Uri;
    }

#pragma warning disable CA5351 // MD5 is the service's integrity checksum (Content-MD5), not a security measure.
    private static byte[] Md5(ReadOnlySpan<byte> data) => MD5.HashData(data);
#pragma warning restore CA5351

    private static UploadTransferValidationOptions Md5Validation(byte[] md5) =>
        new() { ChecksumAlgorithm = StorageChecksumAlgorithm.MD5, PrecalculatedChecksum = md5 };

    private static string BlockId(string uploadId, int index) =>
        Convert.ToBase64String(Encoding.ASCII.GetBytes(uploadId + index.ToString("D6", CultureInfo.InvariantCulture)));

    private async Task<int> ReadBlockAsync(Stream content, byte[] buffer, CancellationToken cancellationToken)
    {
        var filled = 0;
        while (filled < _blockSize)
        {
            var read = await content.ReadAsync(buffer.AsMemory(filled, _blockSize - filled), cancellationToken).ConfigureAwait(false);
            if (read == 0)
            {
                break;
            }

            filled += read;
        }

        return filled;
    }

    private async Task GuardAsync<T>(string key, PutMode mode, Func<Task<T>> action)
    {
        try
        {
            await action().ConfigureAwait(false);
        }
        catch (Exception ex) when (Translate(key, ex, mode) is { } translated)
        {
            throw translated;
        }
    }

    /// <summary>The store's exception for an SDK failure, or null to let <paramref name="ex"/> through (cancellation, bugs).</summary>
    internal ObjectStoreException? Translate(string? key, Exception ex, PutMode mode)
    {
        var where = $"container '{_container.Name}' of storage account '{_container.AccountName}' ({Endpoint()})";
        switch (ex)
        {
            case ObjectStoreException or OperationCanceledException:
                return null;
            case RequestFailedException { Status: 0 } network:
                return Unavailable(key, where, network);
            case RequestFailedException rf:
                return TranslateResponse(key, rf, mode, where);
            case AuthenticationFailedException auth:
                return new ObjectStoreException(ObjectStoreErrorKind.AccessDenied, key,
                    $"No Microsoft Entra ID token could be obtained for {where}: set AZURE_STORAGE_ACCESS_KEY, AZURE_STORAGE_SAS_TOKEN or "
                    + "AZURE_STORAGE_CONNECTION_STRING, or configure DefaultAzureCredential (AZURE_CLIENT_ID, AZURE_TENANT_ID, AZURE_CLIENT_SECRET, "
                    + "workload identity or a managed identity).", auth);
            case AggregateException aggregate when aggregate.InnerExceptions.All(e => e is RequestFailedException or HttpRequestException or IOException or TimeoutException):
                // What the SDK throws once its retries are exhausted.
                return aggregate.InnerExceptions[^1] is RequestFailedException { Status: not 0 } last
                    ? TranslateResponse(key, last, mode, where)
                    : Unavailable(key, where, aggregate);
            case HttpRequestException or TimeoutException:
                return Unavailable(key, where, ex);
            default:
                return null;
        }
    }

    private ObjectStoreException TranslateResponse(string? key, RequestFailedException ex, PutMode mode, string where)
    {
        var code = ex.ErrorCode ?? "";
        var what = key is null ? where : $"'{key}' in {where}";
        var status = string.Create(CultureInfo.InvariantCulture, $"HTTP {ex.Status}{(code.Length > 0 ? " " + code : "")}");
        if (code == BlobErrorCode.ContainerNotFound)
        {
            return new ObjectStoreException(ObjectStoreErrorKind.ContainerNotFound, key,
                $"The container '{_container.Name}' does not exist in storage account '{_container.AccountName}' ({Endpoint()}): create it "
                + $"(az storage container create --name {_container.Name}) or correct WALG_AZ_PREFIX.", ex);
        }

        if (mode == PutMode.CreateNew && (code == BlobErrorCode.BlobAlreadyExists || code == BlobErrorCode.ConditionNotMet || ex.Status is 409 or 412))
        {
            return ObjectStoreException.AlreadyExists(key ?? "", ex);
        }

        return ex.Status switch
        {
            404 => ObjectStoreException.NotFound(key ?? "", ex),
            401 or 403 when IsAuthenticationFailure(ex, code) =>
                new ObjectStoreException(ObjectStoreErrorKind.AccessDenied, key,
                    $"Azure refused the credentials for {what} ({status}): check AZURE_STORAGE_ACCESS_KEY, AZURE_STORAGE_SAS_TOKEN or the connection "
                    + "string (key, signature, expiry), and that this machine's clock is right.", ex),
            401 or 403 => new ObjectStoreException(ObjectStoreErrorKind.AccessDenied, key,
                $"The credentials lack a permission on {what} ({status}): grant 'Storage Blob Data Contributor' on the container, "
                + "or use a SAS with permissions racwdl.", ex),
            429 or 503 => new ObjectStoreException(ObjectStoreErrorKind.Throttled, key,
                $"Azure is throttling requests on {what} ({status}) after the configured retries: try again later, or lower WALG_UPLOAD_CONCURRENCY.", ex),
            500 when code == BlobErrorCode.OperationTimedOut => new ObjectStoreException(ObjectStoreErrorKind.Throttled, key,
                $"Azure timed out on {what} ({status}) after the configured retries: try again later.", ex),
            >= 500 => new ObjectStoreException(ObjectStoreErrorKind.Unavailable, key,
                $"Azure failed on {what} ({status}) after the configured retries: try again later.", ex),
            _ => new ObjectStoreException(ObjectStoreErrorKind.Other, key, $"Azure refused the request on {what} ({status}).", ex),
        };
    }

    // Azure says AuthenticationFailed for a wrong key or signature; Azurite says AuthorizationFailure with Azure's
    // "Server failed to authenticate the request" text, which Azure uses for AuthenticationFailed only.
    private static bool IsAuthenticationFailure(RequestFailedException ex, string code) =>
        code.Length == 0
        || code == BlobErrorCode.AuthenticationFailed
        || code == "NoAuthenticationInformation"
        || code == "InvalidAuthenticationInfo"
        || ex.Message.Contains("Server failed to authenticate the request", StringComparison.Ordinal);

    private static ObjectStoreException Unavailable(string? key, string where, Exception ex) =>
        new(ObjectStoreErrorKind.Unavailable, key,
            $"Cannot reach {where} after the configured retries: check the endpoint (account name, AZURE_ENDPOINT_SUFFIX, the connection string's BlobEndpoint), DNS and the network.", ex);

    // Scheme, host and path only: a SAS lives in the query.
    private string Endpoint() => _container.Uri.GetLeftPart(UriPartial.Path);

    /// <summary>A blob's content as it downloads: maps SDK failures and checks the whole object's MD5 at its end.</summary>
    private sealed class AzureReadStream(AzureBlobObjectStore store, string key, BlobDownloadStreamingResult result, byte[]? expectedMd5) : Stream
    {
        private readonly Stream _inner = result.Content;
        private readonly IncrementalHash? _md5 = expectedMd5 is null ? null : IncrementalHash.CreateHash(HashAlgorithmName.MD5);
        private bool _checked;

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            int read;
            try
            {
                read = _inner.Read(buffer);
            }
            catch (Exception ex) when (store.Translate(key, ex, PutMode.Overwrite) is { } translated)
            {
                throw translated;
            }

            return Account(buffer[..read]);
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            int read;
            try
            {
                read = await _inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (store.Translate(key, ex, PutMode.Overwrite) is { } translated)
            {
                throw translated;
            }

            return Account(buffer.Span[..read]);
        }

        private int Account(ReadOnlySpan<byte> data)
        {
            if (_md5 is null)
            {
                return data.Length;
            }

            if (data.Length > 0)
            {
                _md5.AppendData(data);
            }
            else if (!_checked)
            {
                _checked = true;
                if (!_md5.GetHashAndReset().AsSpan().SequenceEqual(expectedMd5))
                {
                    throw new ObjectStoreException(ObjectStoreErrorKind.Other, key,
                        $"Integrity check failed for '{key}': the MD5 of the bytes read differs from the Content-MD5 stored with the blob. "
                        + "The blob is damaged or was replaced while it was read; read it again.");
                }
            }

            return data.Length;
        }

        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                _md5?.Dispose();
                result.Dispose();
            }

            base.Dispose(disposing);
        }
    }
}
