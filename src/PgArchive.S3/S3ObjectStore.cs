using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using Amazon;
using Amazon.Runtime;
using Amazon.Runtime.CredentialManagement;
using Amazon.S3;
using Amazon.S3.Model;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using S3ByteRange = Amazon.S3.Model.ByteRange;

namespace PgArchive.Storage;

/// <summary>
/// Objects in an Amazon S3 (or S3-compatible) bucket under a prefix, named as WAL-G names them
/// (<c>s3://bucket/prefix/wal_005/...</c>).
/// </summary>
/// <remarks>
/// <para>Uploads read the content once, in parts of <see cref="S3ObjectStoreOptions.PartSize"/>: content that fits one
/// part is sent with one PutObject, larger content with a multipart upload holding at most
/// <see cref="S3ObjectStoreOptions.MaxConcurrentParts"/> parts in memory. Every PUT carries Content-MD5 (the server
/// checks it); afterwards the returned ETag, or the stored size, is compared with what was sent, so a returned put
/// means the object is stored whole. A failed multipart upload is aborted.</para>
/// <para>Least privilege: <c>s3:PutObject</c>, <c>s3:GetObject</c>, <c>s3:DeleteObject</c>,
/// <c>s3:ListBucket</c> (listing and telling a missing object from a missing bucket), and
/// <c>s3:AbortMultipartUpload</c>; <c>kms:GenerateDataKey</c>/<c>kms:Decrypt</c> with SSE-KMS.</para>
/// </remarks>
public sealed class S3ObjectStore : IObjectStore, IObjectCopier, ISelfRetryingObjectStore, IDisposable
{
    private const int MaxParts = 10_000;
    private const long MaxCopyObjectSize = 5L << 30;
    private const int DeleteBatchSize = 1_000;
    private const int DeleteParallelism = 8;

    /// <summary>The first backoff of a resumed download (then 400 ms, 800 ms, ... with jitter).</summary>
    private static readonly TimeSpan ResumeDelay = TimeSpan.FromMilliseconds(200);

    private readonly IAmazonS3 _client;
    private readonly bool _ownsClient;
    private readonly S3ObjectStoreOptions _options;
    private readonly ILogger _logger;
    private readonly string _root;
    private readonly PartBufferPool _buffers;

    // The storage class and server-side encryption every write asks for, resolved once; null where not configured,
    // which the SDK leaves out of the request.
    private readonly S3StorageClass? _storageClass;
    private readonly ServerSideEncryptionMethod? _serverSideEncryption;
    private readonly string? _sseKmsKeyId;
    private readonly KeyedLocks _keyLocks = new();
    private volatile S3ConditionalWrites _conditionalWrites;
    private volatile bool _bucketExists;
    private volatile bool _batchDeleteRefused;

    /// <summary>Creates a store over a client the caller owns (and disposes).</summary>
    public S3ObjectStore(IAmazonS3 client, S3ObjectStoreOptions options, ILogger<S3ObjectStore>? logger = null)
        : this(client, ownsClient: false, options, logger)
    {
    }

    /// <summary>Creates a store with a client built from <paramref name="options"/> (see <see cref="CreateClient"/>); disposing the store disposes it.</summary>
    public S3ObjectStore(S3ObjectStoreOptions options, ILogger<S3ObjectStore>? logger = null)
        : this(CreateClient(options), ownsClient: true, options, logger)
    {
    }

    /// <summary>Creates a store from registered options, with the registered <see cref="IAmazonS3"/> if any.</summary>
    public S3ObjectStore(IOptions<S3ObjectStoreOptions> options, IAmazonS3? client = null, ILogger<S3ObjectStore>? logger = null)
        : this(client ?? CreateClient((options ?? throw new ArgumentNullException(nameof(options))).Value), ownsClient: client is null, options.Value, logger)
    {
    }

    private S3ObjectStore(IAmazonS3 client, bool ownsClient, S3ObjectStoreOptions options, ILogger? logger)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentException.ThrowIfNullOrEmpty(options.Bucket, nameof(options));
        _client = client;
        _ownsClient = ownsClient;
        _options = options;
        _buffers = new PartBufferPool(options.PartSize);
        _storageClass = string.IsNullOrEmpty(options.StorageClass) ? null : S3StorageClass.FindValue(options.StorageClass);
        _serverSideEncryption = string.IsNullOrEmpty(options.ServerSideEncryption) ? null : ServerSideEncryptionMethod.FindValue(options.ServerSideEncryption);
        _sseKmsKeyId = _serverSideEncryption is null || string.IsNullOrEmpty(options.SseKmsKeyId) ? null : options.SseKmsKeyId;
        _logger = logger ?? NullLogger.Instance;
        var prefix = options.Prefix.Trim('/');
        _root = prefix.Length == 0 ? "" : prefix + "/";
        _batchDeleteRefused = !options.UseBatchDelete;
        _conditionalWrites = options.ConditionalWrites;
    }

    /// <summary>The bucket.</summary>
    public string Bucket => _options.Bucket;

    /// <summary>The key prefix inside the bucket, empty or ending with '/'.</summary>
    public string RootPrefix => _root;

    /// <summary>How create-only puts are made now: <see cref="S3ConditionalWrites.Auto"/> turns into <see cref="S3ConditionalWrites.CheckThenPut"/> when the server refuses If-None-Match.</summary>
    internal S3ConditionalWrites ConditionalWritesInUse => _conditionalWrites;

    /// <summary>Whether deletes go one key per request (the server refused DeleteObjects, or it was turned off).</summary>
    internal bool BatchDeleteRefused => _batchDeleteRefused;

    /// <summary>
    /// Builds an S3 client from the options: endpoint and region, credentials (static keys, session token, profile,
    /// else the SDK's default chain: environment, web identity, container and instance credentials), retries with
    /// exponential backoff and jitter (the SDK's standard mode), checksum behaviour and extra trusted CAs.
    /// </summary>
    public static IAmazonS3 CreateClient(S3ObjectStoreOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var config = new AmazonS3Config
        {
            ForcePathStyle = options.ForcePathStyle,
            RetryMode = RequestRetryMode.Standard,
            MaxErrorRetry = options.MaxRetries,
        };
        if (!string.IsNullOrEmpty(options.ServiceUrl))
        {
            config.ServiceURL = options.ServiceUrl;
            config.AuthenticationRegion = string.IsNullOrEmpty(options.Region) ? "us-east-1" : options.Region;
        }
        else
        {
            config.RegionEndpoint = !string.IsNullOrEmpty(options.Region)
                ? RegionEndpoint.GetBySystemName(options.Region)
                : FallbackRegionFactory.GetRegionEndpoint() ?? RegionEndpoint.USEast1;
        }

        if (options.ChecksumsOnlyWhenRequired)
        {
            config.RequestChecksumCalculation = RequestChecksumCalculation.WHEN_REQUIRED;
            config.ResponseChecksumValidation = ResponseChecksumValidation.WHEN_REQUIRED;
        }

        if (options.RequestTimeout is { } timeout)
        {
            config.Timeout = timeout;
        }

        if (!string.IsNullOrEmpty(options.CaCertificateFile))
        {
            config.HttpClientFactory = new S3TrustingHttpClientFactory(options.CaCertificateFile);
        }

        AWSCredentials? credentials = null;
        if (!string.IsNullOrEmpty(options.AccessKeyId) && !string.IsNullOrEmpty(options.SecretAccessKey))
        {
            credentials = string.IsNullOrEmpty(options.SessionToken)
                ? new BasicAWSCredentials(options.AccessKeyId, options.SecretAccessKey)
                : new SessionAWSCredentials(options.AccessKeyId, options.SecretAccessKey, options.SessionToken);
        }
        else if (!string.IsNullOrEmpty(options.Profile))
        {
            // AWS_SHARED_CREDENTIALS_FILE moves ~/.aws/credentials, as in the AWS CLI.
            var profiles = Environment.GetEnvironmentVariable("AWS_SHARED_CREDENTIALS_FILE") is { Length: > 0 } file
                ? new CredentialProfileStoreChain(file)
                : new CredentialProfileStoreChain();
            if (!profiles.TryGetAWSCredentials(options.Profile, out credentials))
            {
                throw new ObjectStoreException(ObjectStoreErrorKind.AccessDenied, null,
                    $"AWS profile '{options.Profile}' (AWS_PROFILE) was not found in ~/.aws/credentials or ~/.aws/config.");
            }
        }

        return credentials is null ? new AmazonS3Client(config) : new AmazonS3Client(credentials, config);
    }

    /// <inheritdoc />
    public async Task PutAsync(string key, Stream content, PutMode mode = PutMode.Overwrite, CancellationToken cancellationToken = default)
    {
        ObjectKey.Validate(key);
        ArgumentNullException.ThrowIfNull(content);
        cancellationToken.ThrowIfCancellationRequested();
        var objectKey = _root + key;
        var conditional = _conditionalWrites;
        var check = mode == PutMode.CreateNew && conditional != S3ConditionalWrites.IfNoneMatch;
        using var keyLock = check ? await _keyLocks.LockAsync(objectKey, cancellationToken).ConfigureAwait(false) : null;
        if (check && await HeadAsync(key, cancellationToken).ConfigureAwait(false) is not null)
        {
            throw ObjectStoreException.AlreadyExists(key);
        }

        var ifNoneMatch = mode == PutMode.CreateNew && conditional != S3ConditionalWrites.CheckThenPut;
        var first = _buffers.Rent();
        try
        {
            var length = await content.ReadAtLeastAsync(first, first.Length, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false);
            if (length < first.Length)
            {
                await PutSingleAsync(key, first, length, ifNoneMatch, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                await PutMultipartAsync(key, first, content, ifNoneMatch, cancellationToken).ConfigureAwait(false);
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

        var request = new GetObjectRequest { BucketName = _options.Bucket, Key = _root + key };
        if (range is { } r && (r.Offset > 0 || r.Length is not null))
        {
            request.ByteRange = r.Length is { } length
                ? new S3ByteRange(r.Offset, r.Offset + length - 1)
                : new S3ByteRange(string.Create(CultureInfo.InvariantCulture, $"bytes={r.Offset}-"));
        }

        try
        {
            var response = await _client.GetObjectAsync(request, cancellationToken).ConfigureAwait(false);
            _bucketExists = true;
            return Resuming(response, key, range?.Offset ?? 0);
        }
        catch (AmazonS3Exception ex) when (ex.StatusCode == HttpStatusCode.RequestedRangeNotSatisfiable)
        {
            // The range starts at or past the end: like a file read there, it is empty.
            return new MemoryStream([], writable: false);
        }
        catch (AmazonS3Exception ex) when (ex.ErrorCode == "NoSuchKey" || (ex.StatusCode == HttpStatusCode.NotFound && ex.ErrorCode != "NoSuchBucket"))
        {
            await EnsureBucketExistsAsync(key, cancellationToken).ConfigureAwait(false);
            throw ObjectStoreException.NotFound(key, ex);
        }
        catch (Exception ex) when (Translate(ex, key, "read", cancellationToken) is { } translated)
        {
            throw translated;
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
        var request = new ListObjectsV2Request { BucketName = _options.Bucket, Prefix = _root + prefix, MaxKeys = 1000 };
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var response = await CallAsync(prefix, "list", () => _client.ListObjectsV2Async(request, cancellationToken), cancellationToken).ConfigureAwait(false);
            _bucketExists = true;
            foreach (var item in response.S3Objects ?? [])
            {
                if (item.Key is not { } fullKey || !fullKey.StartsWith(_root, StringComparison.Ordinal))
                {
                    continue;
                }

                var key = fullKey[_root.Length..];
                if (key.EndsWith('/'))
                {
                    continue;
                }

                yield return new ObjectInfo(key, item.Size ?? 0, ToUtc(item.LastModified));
            }

            if (response.IsTruncated != true || string.IsNullOrEmpty(response.NextContinuationToken))
            {
                yield break;
            }

            request.ContinuationToken = response.NextContinuationToken;
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
        var pending = all.Distinct(StringComparer.Ordinal).ToList();
        while (pending.Count > 0 && !_batchDeleteRefused)
        {
            var batch = pending.Take(DeleteBatchSize).ToList();
            var request = new DeleteObjectsRequest
            {
                BucketName = _options.Bucket,
                Quiet = true,
                Objects = batch.Select(k => new KeyVersion { Key = _root + k }).ToList(),
            };
            try
            {
                var response = await _client.DeleteObjectsAsync(request, cancellationToken).ConfigureAwait(false);
                if (response.DeleteErrors is { Count: > 0 } errors)
                {
                    var error = errors[0];
                    var key = error.Key is { } k && k.StartsWith(_root, StringComparison.Ordinal) ? k[_root.Length..] : error.Key;
                    throw MapErrorCode(error.Code, null, key, "delete", $"{errors.Count} of {batch.Count} keys were not deleted (first: {error.Code}: {error.Message})", null);
                }

                pending.RemoveRange(0, batch.Count);
            }
            catch (AmazonS3Exception ex) when (IsBatchDeleteRefused(ex))
            {
                _batchDeleteRefused = true;
                Log.BatchDeleteRefused(_logger, _options.Bucket, ex.ErrorCode ?? ((int)ex.StatusCode).ToString(CultureInfo.InvariantCulture));
            }
            catch (Exception ex) when (Translate(ex, batch[0], "delete", cancellationToken) is { } translated)
            {
                throw translated;
            }
        }

        if (pending.Count > 0)
        {
            await Parallel.ForEachAsync(pending, new ParallelOptions { MaxDegreeOfParallelism = DeleteParallelism, CancellationToken = cancellationToken },
                async (key, ct) => await CallAsync(key, "delete",
                    () => _client.DeleteObjectAsync(new DeleteObjectRequest { BucketName = _options.Bucket, Key = _root + key }, ct), ct).ConfigureAwait(false)).ConfigureAwait(false);
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (_ownsClient)
        {
            _client.Dispose();
        }

    }

    private async Task PutSingleAsync(string key, byte[] buffer, int length, bool ifNoneMatch, CancellationToken cancellationToken)
    {
        var md5 = Md5(buffer.AsSpan(0, length));
        var request = new PutObjectRequest
        {
            BucketName = _options.Bucket,
            Key = _root + key,
            InputStream = new MemoryStream(buffer, 0, length, writable: false),
            AutoCloseStream = true,
            MD5Digest = Convert.ToBase64String(md5),
            UseChunkEncoding = _options.UseChunkEncoding,
            ContentType = "application/octet-stream",
            StorageClass = _storageClass,
            ServerSideEncryptionMethod = _serverSideEncryption,
            ServerSideEncryptionKeyManagementServiceKeyId = _sseKmsKeyId,
        };
        if (ifNoneMatch)
        {
            request.IfNoneMatch = "*";
        }

        var response = await CallAsync(key, "write", async () =>
        {
            try
            {
                return await _client.PutObjectAsync(request, cancellationToken).ConfigureAwait(false);
            }
            catch (AmazonS3Exception ex) when (ifNoneMatch && ConditionalRefused(ex))
            {
                request.IfNoneMatch = null;
                request.InputStream = new MemoryStream(buffer, 0, length, writable: false);
                return await _client.PutObjectAsync(request, cancellationToken).ConfigureAwait(false);
            }
        }, cancellationToken, creating: ifNoneMatch).ConfigureAwait(false);
        if (EtagIsMd5 && IsPlainMd5(response.ETag, out var etag))
        {
            if (!etag.Equals(Convert.ToHexStringLower(md5), StringComparison.Ordinal))
            {
                throw Corrupt(key, $"the server's ETag {etag} is not the MD5 of the {length} bytes sent");
            }
        }
        else
        {
            await ConfirmSizeAsync(key, length, null, cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task PutMultipartAsync(string key, byte[] first, Stream content, bool ifNoneMatch, CancellationToken cancellationToken)
    {
        var objectKey = _root + key;
        var initiate = new InitiateMultipartUploadRequest
        {
            BucketName = _options.Bucket,
            Key = objectKey,
            ContentType = "application/octet-stream",
            StorageClass = _storageClass,
            ServerSideEncryptionMethod = _serverSideEncryption,
            ServerSideEncryptionKeyManagementServiceKeyId = _sseKmsKeyId,
        };

        var uploadId = (await CallAsync(key, "write", () => _client.InitiateMultipartUploadAsync(initiate, cancellationToken), cancellationToken).ConfigureAwait(false)).UploadId;
        var upload = new PartedUpload<UploadedPart>
        {
            Buffers = _buffers,
            MaxPartsInFlight = _options.MaxConcurrentParts,
            MaxParts = MaxParts,
            TooLarge = () => new ObjectStoreException(ObjectStoreErrorKind.Other, key,
                $"'{key}' is larger than {MaxParts:N0} parts of {_options.PartSize:N0} bytes: raise S3_MAX_PART_SIZE (S3:PartSize)."),
            UploadPartAsync = (index, buffer, length, token) => UploadPartAsync(key, uploadId, index + 1, buffer, length, token),
            CompleteAsync = (parts, token) => CompleteMultipartAsync(key, uploadId, parts, ifNoneMatch, token),
            CleanUpAsync = _ => AbortAsync(key, uploadId),
        };
        var (total, parts) = await upload.RunAsync(first, content, cancellationToken).ConfigureAwait(false);
        var expectedEtag = parts.Length == 1 ? null : MultipartEtag(parts.Select(p => p.Md5).ToList());
        await ConfirmSizeAsync(key, total, expectedEtag, cancellationToken).ConfigureAwait(false);
    }

    private async Task CompleteMultipartAsync(string key, string uploadId, UploadedPart[] parts, bool ifNoneMatch, CancellationToken cancellationToken)
    {
        var complete = new CompleteMultipartUploadRequest
        {
            BucketName = _options.Bucket,
            Key = _root + key,
            UploadId = uploadId,
            PartETags = parts.Select(p => p.Tag).ToList(),
        };
        if (ifNoneMatch)
        {
            complete.IfNoneMatch = "*";
        }

        await CallAsync(key, "write", async () =>
        {
            try
            {
                return await _client.CompleteMultipartUploadAsync(complete, cancellationToken).ConfigureAwait(false);
            }
            catch (AmazonS3Exception ex) when (ifNoneMatch && ConditionalRefused(ex))
            {
                complete.IfNoneMatch = null;
                return await _client.CompleteMultipartUploadAsync(complete, cancellationToken).ConfigureAwait(false);
            }
        }, cancellationToken, creating: ifNoneMatch).ConfigureAwait(false);
    }

    private async Task<UploadedPart> UploadPartAsync(string key, string uploadId, int partNumber, byte[] buffer, int length, CancellationToken cancellationToken)
    {
        var md5 = Md5(buffer.AsSpan(0, length));
        var request = new UploadPartRequest
        {
            BucketName = _options.Bucket,
            Key = _root + key,
            UploadId = uploadId,
            PartNumber = partNumber,
            InputStream = new MemoryStream(buffer, 0, length, writable: false),
            PartSize = length,
            MD5Digest = Convert.ToBase64String(md5),
            UseChunkEncoding = _options.UseChunkEncoding,
        };
        var response = await CallAsync(key, "write", () => _client.UploadPartAsync(request, cancellationToken), cancellationToken).ConfigureAwait(false);
        if (EtagIsMd5 && IsPlainMd5(response.ETag, out var etag) && !etag.Equals(Convert.ToHexStringLower(md5), StringComparison.Ordinal))
        {
            throw Corrupt(key, $"part {partNumber}'s ETag {etag} is not the MD5 of the {length} bytes sent");
        }

        return new UploadedPart(new PartETag(partNumber, response.ETag), md5);
    }

    /// <summary>A part the server acknowledged: its ETag for the completion, and the MD5 of its bytes for the object's expected ETag.</summary>
    private sealed record UploadedPart(PartETag Tag, byte[] Md5);

    private async Task AbortAsync(string key, string uploadId)
    {
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await _client.AbortMultipartUploadAsync(new AbortMultipartUploadRequest { BucketName = _options.Bucket, Key = _root + key, UploadId = uploadId }, timeout.Token)
                .ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is AmazonServiceException or AmazonClientException or HttpRequestException or OperationCanceledException or IOException)
        {
            Log.AbortFailed(_logger, key, ex.GetType().Name);
        }
    }

    private async Task ConfirmSizeAsync(string key, long expectedSize, string? expectedEtag, CancellationToken cancellationToken)
    {
        var response = await CallAsync(key, "confirm",
            () => _client.GetObjectMetadataAsync(new GetObjectMetadataRequest { BucketName = _options.Bucket, Key = _root + key }, cancellationToken),
            cancellationToken).ConfigureAwait(false);
        if (response.ContentLength != expectedSize)
        {
            throw Corrupt(key, $"the server stored {response.ContentLength} bytes, {expectedSize} were sent");
        }

        var etag = response.ETag?.Trim('"');
        if (expectedEtag is not null && EtagIsMd5 && etag is not null && etag.Contains('-', StringComparison.Ordinal)
            && !etag.Equals(expectedEtag, StringComparison.OrdinalIgnoreCase))
        {
            throw Corrupt(key, $"the server's multipart ETag {etag} does not match the parts sent ({expectedEtag})");
        }
    }

    /// <inheritdoc />
    public bool CanCopy => true;

    /// <inheritdoc />
    /// <remarks>
    /// CopyObject within the bucket (needs <c>s3:GetObject</c> on the source and <c>s3:PutObject</c> on the destination),
    /// with the store's storage class and server-side encryption; S3 makes the copy visible whole or not at all. An
    /// object over 5 GiB, more than one CopyObject request copies, is streamed through this process instead.
    /// </remarks>
    public async Task CopyAsync(string sourceKey, string destinationKey, CancellationToken cancellationToken = default)
    {
        ObjectKey.Validate(sourceKey);
        ObjectKey.Validate(destinationKey);
        var source = await HeadAsync(sourceKey, cancellationToken).ConfigureAwait(false) ?? throw ObjectStoreException.NotFound(sourceKey);
        if (source.Size > MaxCopyObjectSize)
        {
            var content = await OpenReadAsync(sourceKey, null, cancellationToken).ConfigureAwait(false);
            await using (content.ConfigureAwait(false))
            {
                await PutAsync(destinationKey, content, PutMode.Overwrite, cancellationToken).ConfigureAwait(false);
            }

            return;
        }

        var request = new CopyObjectRequest
        {
            SourceBucket = _options.Bucket,
            SourceKey = _root + sourceKey,
            DestinationBucket = _options.Bucket,
            DestinationKey = _root + destinationKey,
            StorageClass = _storageClass,
            ServerSideEncryptionMethod = _serverSideEncryption,
            ServerSideEncryptionKeyManagementServiceKeyId = _sseKmsKeyId,
        };

        await CallAsync(destinationKey, "copy " + sourceKey + " to", () => _client.CopyObjectAsync(request, cancellationToken), cancellationToken).ConfigureAwait(false);
    }

    private async Task<ObjectInfo?> HeadAsync(string key, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        try
        {
            var response = await _client.GetObjectMetadataAsync(new GetObjectMetadataRequest { BucketName = _options.Bucket, Key = _root + key }, cancellationToken)
                .ConfigureAwait(false);
            _bucketExists = true;
            return new ObjectInfo(key, response.ContentLength, ToUtc(response.LastModified));
        }
        catch (AmazonS3Exception ex) when (ex.StatusCode == HttpStatusCode.NotFound && ex.ErrorCode != "NoSuchBucket")
        {
            await EnsureBucketExistsAsync(key, cancellationToken).ConfigureAwait(false);
            return null;
        }
        catch (Exception ex) when (Translate(ex, key, "read the metadata of", cancellationToken) is { } translated)
        {
            throw translated;
        }
    }

    /// <summary>A 404 without a body does not say whether the key or the bucket is missing: ask once.</summary>
    private async Task EnsureBucketExistsAsync(string key, CancellationToken cancellationToken)
    {
        if (_bucketExists)
        {
            return;
        }

        await CallAsync(key, "check the bucket for",
            () => _client.ListObjectsV2Async(new ListObjectsV2Request { BucketName = _options.Bucket, Prefix = _root, MaxKeys = 1 }, cancellationToken),
            cancellationToken).ConfigureAwait(false);
        _bucketExists = true;
    }

    /// <summary>
    /// The server refused <c>If-None-Match</c> itself (Swift's s3api: 501 "Conditional object PUTs are not supported"):
    /// in <see cref="S3ConditionalWrites.Auto"/> mode, stop sending it; the HEAD check already ran.
    /// </summary>
    private bool ConditionalRefused(AmazonS3Exception ex)
    {
        var refused = ex.StatusCode == HttpStatusCode.NotImplemented
            || (ex.StatusCode == HttpStatusCode.BadRequest && ex.ErrorCode is "NotImplemented" or "InvalidArgument" or "InvalidRequest");
        if (!refused || _conditionalWrites != S3ConditionalWrites.Auto)
        {
            return false;
        }

        _conditionalWrites = S3ConditionalWrites.CheckThenPut;
        Log.ConditionalWritesRefused(_logger, _options.Bucket, ex.ErrorCode ?? ((int)ex.StatusCode).ToString(CultureInfo.InvariantCulture));
        return true;
    }

    /// <summary>SSE-KMS ETags are not the MD5 of the content.</summary>
    private bool EtagIsMd5 => _options.ServerSideEncryption != "aws:kms";

    private static bool IsPlainMd5(string? etag, out string value)
    {
        value = etag?.Trim('"') ?? "";
        return value.Length == 32 && value.All(char.IsAsciiHexDigit);
    }

    private static string MultipartEtag(List<byte[]> md5s)
    {
        var all = new byte[md5s.Count * 16];
        for (var i = 0; i < md5s.Count; i++)
        {
            md5s[i].CopyTo(all, i * 16);
        }

        return Convert.ToHexStringLower(Md5(all)) + "-" + md5s.Count.ToString(CultureInfo.InvariantCulture);
    }

    /// <summary>MD5 as the S3 protocol uses it (Content-MD5, ETags): a transfer checksum, not a security measure.</summary>
#pragma warning disable CA5351
    private static byte[] Md5(ReadOnlySpan<byte> data) => MD5.HashData(data);
#pragma warning restore CA5351

    private static DateTimeOffset ToUtc(DateTime? value) => value is not { } v
        ? DateTimeOffset.UnixEpoch
        : new DateTimeOffset(v.Kind == DateTimeKind.Local ? v.ToUniversalTime() : DateTime.SpecifyKind(v, DateTimeKind.Utc), TimeSpan.Zero);

    private static bool IsBatchDeleteRefused(AmazonS3Exception ex) =>
        ex.StatusCode is HttpStatusCode.NotImplemented or HttpStatusCode.MethodNotAllowed
        || (ex.StatusCode == HttpStatusCode.BadRequest && ex.ErrorCode is "InvalidRequest" or "MissingContentMD5" or "NotImplemented" or "InvalidDigest");

    private async Task<T> CallAsync<T>(string key, string operation, Func<Task<T>> call, CancellationToken cancellationToken, bool creating = false)
    {
        try
        {
            var result = await call().ConfigureAwait(false);
            _bucketExists = true;
            return result;
        }
        catch (AmazonS3Exception ex) when (creating && ex.StatusCode == HttpStatusCode.PreconditionFailed)
        {
            throw ObjectStoreException.AlreadyExists(key, ex);
        }
        catch (Exception ex) when (Translate(ex, key, operation, cancellationToken) is { } translated)
        {
            throw translated;
        }
    }

    private ObjectStoreException Corrupt(string key, string detail) =>
        new(ObjectStoreErrorKind.Other, key, $"Upload of '{key}' to S3 bucket '{_options.Bucket}' was not stored intact: {detail}.");

    /// <summary>Maps SDK and transport failures to <see cref="ObjectStoreException"/>; null leaves the exception alone (cancellation, content errors).</summary>
    private ObjectStoreException? Translate(Exception ex, string key, string operation, CancellationToken cancellationToken)
    {
        switch (ex)
        {
            case ObjectStoreException:
                return null;
            case OperationCanceledException when cancellationToken.IsCancellationRequested:
                return null;
            case AmazonS3Exception s3:
                return MapErrorCode(s3.ErrorCode, s3.StatusCode, key, operation, s3.Message, ex);
            case AmazonServiceException service when service.InnerException is HttpRequestException or IOException or OperationCanceledException:
            case HttpRequestException or IOException or OperationCanceledException:
                return IsCertificateFailure(ex)
                    ? new ObjectStoreException(ObjectStoreErrorKind.Unavailable, key,
                        $"Cannot {operation} '{key}': the TLS certificate of the S3 endpoint {Endpoint} is not trusted ({Describe(ex)}). " +
                        "If it is signed by a private CA, give that CA's PEM file in WALG_S3_CA_CERT_FILE.", ex)
                    : new ObjectStoreException(ObjectStoreErrorKind.Unavailable, key,
                        $"Cannot {operation} '{key}': the S3 endpoint {Endpoint} did not answer ({Describe(ex)}). Check AWS_ENDPOINT / the network; retried {_options.MaxRetries} times.", ex);
            case AmazonServiceException service:
                return MapErrorCode(service.ErrorCode, service.StatusCode, key, operation, service.Message, ex);
            case AmazonClientException client when client.Message.Contains("credential", StringComparison.OrdinalIgnoreCase):
                return new ObjectStoreException(ObjectStoreErrorKind.AccessDenied, key,
                    $"Cannot {operation} '{key}': no AWS credentials were found. Set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, AWS_PROFILE, or run where the default chain finds some (web identity, container or instance role).", ex);
            case AmazonClientException client:
                return new ObjectStoreException(ObjectStoreErrorKind.Other, key, $"Cannot {operation} '{key}' in S3 bucket '{_options.Bucket}': {client.Message}", ex);
            default:
                return null;
        }
    }

    private ObjectStoreException MapErrorCode(string? code, HttpStatusCode? status, string? key, string operation, string? detail, Exception? inner)
    {
        var where = $"S3 bucket '{_options.Bucket}' at {Endpoint}";
        var what = $"Cannot {operation} '{key}' in {where}";
        var reason = code ?? (status is { } s ? ((int)s).ToString(CultureInfo.InvariantCulture) : "error");
        return code switch
        {
            "NoSuchKey" => ObjectStoreException.NotFound(key ?? "", inner),
            "NoSuchBucket" => new ObjectStoreException(ObjectStoreErrorKind.ContainerNotFound, key,
                $"{what}: the bucket does not exist (NoSuchBucket). Create it, or fix the bucket in WALG_S3_PREFIX / AWS_ENDPOINT.", inner),
            "InvalidAccessKeyId" or "SignatureDoesNotMatch" or "ExpiredToken" or "InvalidToken" or "TokenRefreshRequired" or "AuthorizationHeaderMalformed" =>
                new ObjectStoreException(ObjectStoreErrorKind.AccessDenied, key,
                    $"{what}: the credentials were refused ({reason}). Check AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN and AWS_REGION.", inner),
            "AccessDenied" or "AllAccessDisabled" or "AccountProblem" or "InvalidObjectState" or "KMS.AccessDeniedException" =>
                new ObjectStoreException(ObjectStoreErrorKind.AccessDenied, key,
                    $"{what}: access denied ({reason}). The credentials need s3:{PermissionFor(operation)} on this bucket and prefix.", inner),
            "SlowDown" or "Throttling" or "ThrottlingException" or "RequestLimitExceeded" or "TooManyRequests" or "RequestThrottled" =>
                new ObjectStoreException(ObjectStoreErrorKind.Throttled, key,
                    $"{what}: the server asked to slow down ({reason}) and {_options.MaxRetries} retries did not get through. Lower WALG_UPLOAD_CONCURRENCY or retry later.", inner),
            "ConditionalRequestConflict" => new ObjectStoreException(ObjectStoreErrorKind.Unavailable, key,
                $"{what}: another conditional write to the same key is in progress (ConditionalRequestConflict); retry.", inner),
            _ => status switch
            {
                HttpStatusCode.Forbidden => new ObjectStoreException(ObjectStoreErrorKind.AccessDenied, key,
                    $"{what}: access denied (403): the credentials were refused or lack s3:{PermissionFor(operation)}. " +
                    "Check AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN and the bucket policy.", inner),
                HttpStatusCode.NotFound => ObjectStoreException.NotFound(key ?? "", inner),
                HttpStatusCode.TooManyRequests or HttpStatusCode.ServiceUnavailable => new ObjectStoreException(ObjectStoreErrorKind.Throttled, key,
                    $"{what}: the server is throttling or unavailable ({reason}) after {_options.MaxRetries} retries.", inner),
                >= HttpStatusCode.InternalServerError => new ObjectStoreException(ObjectStoreErrorKind.Unavailable, key,
                    $"{what}: server error {reason} after {_options.MaxRetries} retries.", inner),
                _ => new ObjectStoreException(ObjectStoreErrorKind.Other, key, $"{what}: {reason}: {detail}", inner),
            },
        };
    }

    private static string PermissionFor(string operation) => operation switch
    {
        "write" => "PutObject",
        "read" or "read the metadata of" or "confirm" => "GetObject",
        "delete" => "DeleteObject",
        _ => "ListBucket",
    };

    private string Endpoint => _client.Config.ServiceURL is { Length: > 0 } url
        ? url.TrimEnd('/')
        : "AWS region " + (_client.Config.RegionEndpoint?.SystemName ?? _options.Region ?? "default");

    private static bool IsCertificateFailure(Exception ex)
    {
        for (var inner = ex; inner is not null; inner = inner.InnerException)
        {
            if (inner is System.Security.Authentication.AuthenticationException)
            {
                return true;
            }
        }

        return false;
    }

    private static string Describe(Exception ex)
    {
        var inner = ex;
        while (inner.InnerException is not null && inner is not HttpRequestException)
        {
            inner = inner.InnerException;
        }

        return inner is OperationCanceledException ? "timed out" : inner.Message;
    }

    /// <summary>
    /// The body of a GetObject response. The SDK retries a request, not the reading of its body: when the connection
    /// breaks off part-way (the server closed it, a proxy cut it), <see cref="ResumingDownloadStream"/> asks for the rest
    /// with a range from the byte reached, on the condition that the ETag is unchanged, up to
    /// <see cref="S3ObjectStoreOptions.MaxRetries"/> times; then the failure is an <see cref="ObjectStoreException"/>.
    /// </summary>
    private ResumingDownloadStream Resuming(GetObjectResponse response, string key, long offset)
    {
        var length = response.ContentLength;
        var etag = response.ETag;
        return new ResumingDownloadStream(new ResponseStream(response), length, _options.MaxRetries, ResumeDelay,
            (position, ct) => ReadRestAsync(key, etag, offset + position, offset + length - 1, ct),
            (failure, position) => failure as ObjectStoreException
                ?? Translate(failure, key, "read", CancellationToken.None)
                ?? new ObjectStoreException(ObjectStoreErrorKind.Unavailable, key,
                    $"Cannot read '{key}': the download broke off after {position} of {length} bytes.", failure),
            (position, failure) => Log.ReadResumed(_logger, key, position, Describe(failure)));
    }

    /// <summary>The bytes <paramref name="from"/> to <paramref name="to"/> of the object, only if its ETag is still <paramref name="etag"/>.</summary>
    private async Task<Stream> ReadRestAsync(string key, string? etag, long from, long to, CancellationToken cancellationToken)
    {
        if (from > to)
        {
            // Broke off after the last byte: nothing is left to ask for.
            return new MemoryStream([], writable: false);
        }

        var request = new GetObjectRequest
        {
            BucketName = _options.Bucket,
            Key = _root + key,
            ByteRange = new S3ByteRange(from, to),
            EtagToMatch = etag,
        };
        try
        {
            return new ResponseStream(await _client.GetObjectAsync(request, cancellationToken).ConfigureAwait(false));
        }
        catch (AmazonS3Exception ex) when (ex.StatusCode == HttpStatusCode.PreconditionFailed)
        {
            throw new ObjectStoreException(ObjectStoreErrorKind.Other, key,
                $"Cannot read '{key}': it was replaced while being read (its ETag changed after {from} bytes).", ex);
        }
        catch (AmazonServiceException ex) when (Translate(ex, key, "read", cancellationToken) is { } translated)
        {
            // Transient kinds (throttled, unavailable) are retried by the resuming stream; the others end the read.
            throw translated;
        }
    }

    /// <summary>The body of a GetObject response; disposing it releases the connection.</summary>
    private sealed class ResponseStream(GetObjectResponse response) : Stream
    {
        private readonly Stream _inner = response.ResponseStream;

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => response.ContentLength;
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override int Read(byte[] buffer, int offset, int count) => _inner.Read(buffer, offset, count);
        public override int Read(Span<byte> buffer) => _inner.Read(buffer);
        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            _inner.ReadAsync(buffer, offset, count, cancellationToken);
        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => _inner.ReadAsync(buffer, cancellationToken);
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                _inner.Dispose();
                response.Dispose();
            }

            base.Dispose(disposing);
        }
    }
}
