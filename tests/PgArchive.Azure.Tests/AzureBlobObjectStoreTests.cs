// MD5 here is the Content-MD5 integrity checksum Azure Blob Storage uses, not a security measure.
#pragma warning disable CA5351

using System.Net;
using System.Security.Cryptography;
using System.Text;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Blobs.Specialized;
using Azure.Storage.Sas;
using PgArchive.Storage.Conformance;

namespace PgArchive.Storage;

/// <summary>What is particular to Azure Blob Storage: credentials, error mapping, layout and integrity, against Azurite.</summary>
public sealed class AzureBlobObjectStoreTests(AzuriteFixture azurite)
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    private readonly string _prefix = "specific/" + Guid.NewGuid().ToString("N");

    private AzureBlobObjectStore NewStore(Action<AzureBlobObjectStoreOptions>? configure = null)
    {
        var options = azurite.Options(_prefix);
        configure?.Invoke(options);
        return new AzureBlobObjectStore(AzureBlobObjectStore.CreateContainerClient(options), options);
    }

    private static void AssertNoSecret(Exception ex, string secret)
    {
        Assert.DoesNotContain(secret, ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(secret, ex.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Wrong_account_key_is_access_denied_and_the_key_appears_nowhere()
    {
        var wrongKey = Convert.ToBase64String(RandomNumberGenerator.GetBytes(64));
        var store = NewStore(o =>
        {
            o.ConnectionString = null;
            o.AccountName = azurite.AccountName;
            o.AccountKey = wrongKey;
            o.ServiceUri = azurite.BlobEndpoint;
        });

        var put = await Assert.ThrowsAsync<ObjectStoreException>(() => store.PutAsync("wal_005/x", new MemoryStream([1, 2, 3]), cancellationToken: Token));
        var list = await Assert.ThrowsAsync<ObjectStoreException>(async () =>
        {
            await foreach (var unused in store.ListAsync("", Token))
            {
            }
        });

        Assert.Equal(ObjectStoreErrorKind.AccessDenied, put.Kind);
        Assert.Equal(ObjectStoreErrorKind.AccessDenied, list.Kind);
        Assert.Contains("AZURE_STORAGE_ACCESS_KEY", put.Message, StringComparison.Ordinal);
        Assert.Contains("HTTP 403", put.Message, StringComparison.Ordinal);
        Assert.False(put.IsTransient);
        AssertNoSecret(put, wrongKey);
        AssertNoSecret(list, wrongKey);
        AssertNoSecret(put, azurite.AccountKey);
    }

    [Fact]
    public async Task Sas_token_with_container_permissions_stores_reads_lists_and_deletes()
    {
        var sas = azurite.Container.GenerateSasUri(BlobContainerSasPermissions.All, DateTimeOffset.UtcNow.AddHours(1)).Query;
        var store = NewStore(o =>
        {
            o.ConnectionString = null;
            o.SasToken = sas;
            o.ServiceUri = azurite.BlobEndpoint;
        });

        await store.PutAsync("wal_005/000000010000000000000001", new MemoryStream([7, 8, 9]), PutMode.CreateNew, Token);
        await using (var read = await store.OpenReadAsync("wal_005/000000010000000000000001", cancellationToken: Token))
        {
            var buffer = new MemoryStream();
            await read.CopyToAsync(buffer, Token);
            Assert.Equal([7, 8, 9], buffer.ToArray());
        }

        var listed = new List<string>();
        await foreach (var info in store.ListAsync("wal_005/", Token))
        {
            listed.Add(info.Key);
        }

        Assert.Equal(["wal_005/000000010000000000000001"], listed);
        await store.DeleteAsync(["wal_005/000000010000000000000001"], Token);
        Assert.Null(await store.GetInfoAsync("wal_005/000000010000000000000001", Token));
    }

    [Fact]
    public async Task Forged_sas_signature_is_access_denied_and_the_token_appears_nowhere()
    {
        var sas = azurite.Container.GenerateSasUri(BlobContainerSasPermissions.All, DateTimeOffset.UtcNow.AddHours(1)).Query.TrimStart('?');
        var forgedSignature = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
        var forged = string.Join('&', sas.Split('&').Select(p => p.StartsWith("sig=", StringComparison.Ordinal) ? "sig=" + WebUtility.UrlEncode(forgedSignature) : p));
        var store = NewStore(o =>
        {
            o.ConnectionString = null;
            o.SasToken = forged;
            o.ServiceUri = azurite.BlobEndpoint;
        });

        var ex = await Assert.ThrowsAsync<ObjectStoreException>(() => store.PutAsync("k", new MemoryStream([1]), cancellationToken: Token));

        Assert.Equal(ObjectStoreErrorKind.AccessDenied, ex.Kind);
        AssertNoSecret(ex, forgedSignature);
        AssertNoSecret(ex, WebUtility.UrlEncode(forgedSignature));
    }

    [Fact]
    public async Task Read_only_sas_cannot_write_and_the_message_names_the_missing_permission()
    {
        var sas = azurite.Container.GenerateSasUri(BlobContainerSasPermissions.Read | BlobContainerSasPermissions.List, DateTimeOffset.UtcNow.AddHours(1)).Query;
        var store = NewStore(o =>
        {
            o.ConnectionString = null;
            o.SasToken = sas;
            o.ServiceUri = azurite.BlobEndpoint;
        });

        var ex = await Assert.ThrowsAsync<ObjectStoreException>(() => store.PutAsync("k", new MemoryStream([1]), cancellationToken: Token));

        Assert.Equal(ObjectStoreErrorKind.AccessDenied, ex.Kind);
        Assert.Contains("lack a permission", ex.Message, StringComparison.Ordinal);
        Assert.Contains("racwdl", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Missing_container_is_container_not_found_for_every_operation()
    {
        var container = "missing-" + Guid.NewGuid().ToString("N")[..12];
        var options = azurite.Options(_prefix, container);
        var store = new AzureBlobObjectStore(AzureBlobObjectStore.CreateContainerClient(options), options);

        var put = await Assert.ThrowsAsync<ObjectStoreException>(() => store.PutAsync("wal_005/x", new MemoryStream([1]), cancellationToken: Token));
        var read = await Assert.ThrowsAsync<ObjectStoreException>(() => store.OpenReadAsync("wal_005/x", cancellationToken: Token));
        var info = await Assert.ThrowsAsync<ObjectStoreException>(() => store.GetInfoAsync("wal_005/x", Token));
        var list = await Assert.ThrowsAsync<ObjectStoreException>(async () =>
        {
            await foreach (var unused in store.ListAsync("wal_005/", Token))
            {
            }
        });

        Assert.All(new[] { put, read, info, list }, ex => Assert.Equal(ObjectStoreErrorKind.ContainerNotFound, ex.Kind));
        Assert.Contains($"container '{container}' does not exist", put.Message, StringComparison.Ordinal);
        Assert.Contains("WALG_AZ_PREFIX", put.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Objects_are_block_blobs_named_prefix_slash_key_with_the_whole_content_md5()
    {
        var store = NewStore(o => o.BlockSize = AzureBlobObjectStoreOptions.MinBlockSize);
        var large = RandomNumberGenerator.GetBytes(5 * AzureBlobObjectStoreOptions.MinBlockSize + 123);
        var small = RandomNumberGenerator.GetBytes(1000);

        await store.PutAsync("basebackups_005/base_000000010000000000000002/tar_partitions/part_001.tar.lz4", new UnseekableStream(new MemoryStream(large)), cancellationToken: Token);
        await store.PutAsync("wal_005/000000010000000000000002.lz4", new MemoryStream(small), cancellationToken: Token);

        var largeBlob = azurite.Container.GetBlockBlobClient(_prefix + "/basebackups_005/base_000000010000000000000002/tar_partitions/part_001.tar.lz4");
        var blocks = await largeBlob.GetBlockListAsync(BlockListTypes.All, cancellationToken: Token);
        Assert.Equal(6, blocks.Value.CommittedBlocks.Count());
        Assert.Empty(blocks.Value.UncommittedBlocks);
        Assert.Equal(MD5.HashData(large), (await largeBlob.GetPropertiesAsync(cancellationToken: Token)).Value.ContentHash);

        var smallBlob = azurite.Container.GetBlobClient(_prefix + "/wal_005/000000010000000000000002.lz4");
        var smallProperties = (await smallBlob.GetPropertiesAsync(cancellationToken: Token)).Value;
        Assert.Equal(BlobType.Block, smallProperties.BlobType);
        Assert.Equal(MD5.HashData(small), smallProperties.ContentHash);
    }

    [Fact]
    public async Task Full_read_fails_when_the_bytes_differ_from_the_stored_content_md5()
    {
        var store = NewStore();
        var blob = azurite.Container.GetBlockBlobClient(_prefix + "/wal_005/damaged");
        var blockId = Convert.ToBase64String(Encoding.ASCII.GetBytes("block-0"));
        await blob.StageBlockAsync(blockId, new MemoryStream(Encoding.ASCII.GetBytes("what is stored")), cancellationToken: Token);
        await blob.CommitBlockListAsync([blockId], new CommitBlockListOptions
        {
            HttpHeaders = new BlobHttpHeaders { ContentHash = MD5.HashData(Encoding.ASCII.GetBytes("what was meant")) },
        }, Token);

        await using var stream = await store.OpenReadAsync("wal_005/damaged", cancellationToken: Token);
        var ex = await Assert.ThrowsAsync<ObjectStoreException>(() => stream.CopyToAsync(Stream.Null, Token));

        Assert.Contains("Integrity check failed", ex.Message, StringComparison.Ordinal);
        Assert.Equal("wal_005/damaged", ex.Key);
        // A range is not checked against the whole blob's MD5.
        await using var ranged = await store.OpenReadAsync("wal_005/damaged", new ByteRange(0, 4), Token);
        var slice = new MemoryStream();
        await ranged.CopyToAsync(slice, Token);
        Assert.Equal("what"u8.ToArray(), slice.ToArray());
    }

    [Fact]
    public async Task Read_with_a_range_at_or_past_the_end_returns_nothing()
    {
        var store = NewStore();
        await store.PutAsync("short", new MemoryStream("hello world"u8.ToArray()), cancellationToken: Token);

        Assert.Empty(await ReadAllAsync(store, "short", new ByteRange(11)));
        Assert.Empty(await ReadAllAsync(store, "short", new ByteRange(50, 10)));
        Assert.Empty(await ReadAllAsync(store, "short", new ByteRange(3, 0)));
        Assert.Equal("world"u8.ToArray(), await ReadAllAsync(store, "short", new ByteRange(6, 100)));
        var missing = await Assert.ThrowsAsync<ObjectStoreException>(() => store.OpenReadAsync("absent", new ByteRange(1, 2), Token));
        Assert.Equal(ObjectStoreErrorKind.NotFound, missing.Kind);
    }

    private static async Task<byte[]> ReadAllAsync(AzureBlobObjectStore store, string key, ByteRange? range = null)
    {
        await using var stream = await store.OpenReadAsync(key, range, Token);
        var buffer = new MemoryStream();
        await stream.CopyToAsync(buffer, Token);
        return buffer.ToArray();
    }

    [Fact]
    public async Task Put_whose_content_fails_after_some_blocks_commits_nothing_and_surfaces_the_content_error()
    {
        var store = NewStore(o => o.BlockSize = AzureBlobObjectStoreOptions.MinBlockSize);
        var failing = new FailingStream(new MemoryStream(new byte[10 << 20]), failAfterBytes: 3 << 20);

        var ex = await Assert.ThrowsAsync<IOException>(() => store.PutAsync("partial", failing, cancellationToken: Token));

        Assert.Equal("Injected read failure.", ex.Message);
        var blob = azurite.Container.GetBlockBlobClient(_prefix + "/partial");
        Assert.False(await blob.ExistsAsync(Token));
    }

    [Fact]
    public async Task Cancelling_a_block_upload_midway_stores_nothing()
    {
        var store = NewStore(o => o.BlockSize = AzureBlobObjectStoreOptions.MinBlockSize);
        using var cancellation = CancellationTokenSource.CreateLinkedTokenSource(Token);
        var content = new CallbackStream(new PatternStream(64L << 20), afterBytes: 4L << 20, () => cancellation.Cancel());

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => store.PutAsync("cancelled", content, cancellationToken: cancellation.Token));

        Assert.Null(await store.GetInfoAsync("cancelled", Token));
    }

    [Fact]
    public async Task Unreachable_endpoint_is_unavailable_and_transient()
    {
        var port = AzuriteFixture.FreePort();
        var store = NewStore(o =>
        {
            o.ConnectionString = null;
            o.AccountName = azurite.AccountName;
            o.AccountKey = azurite.AccountKey;
            o.ServiceUri = new Uri($"http://127.0.0.1:{port}/{azurite.AccountName}");
            o.MaxRetries = 1;
            o.RetryDelay = TimeSpan.FromMilliseconds(10);
        });

        var ex = await Assert.ThrowsAsync<ObjectStoreException>(() => store.GetInfoAsync("k", Token));

        Assert.Equal(ObjectStoreErrorKind.Unavailable, ex.Kind);
        Assert.True(ex.IsTransient);
        Assert.Contains($"127.0.0.1:{port}", ex.Message, StringComparison.Ordinal);
        AssertNoSecret(ex, azurite.AccountKey);
    }

    [Fact]
    public void Malformed_connection_string_and_key_are_configuration_errors_that_do_not_echo_them()
    {
        var badConnection = "AccountName=x;AccountKey=c2VjcmV0LXNlY3JldA==;BlobEndpoint=not a uri";
        var connection = Assert.Throws<PgArchiveConfigurationException>(() => AzureBlobObjectStore.CreateContainerClient(
            new AzureBlobObjectStoreOptions { ContainerName = "c", ConnectionString = badConnection }));
        var key = Assert.Throws<PgArchiveConfigurationException>(() => AzureBlobObjectStore.CreateContainerClient(
            new AzureBlobObjectStoreOptions { ContainerName = "c", AccountName = "acct", AccountKey = "not*base64*secret" }));

        Assert.Contains("AZURE_STORAGE_CONNECTION_STRING", connection.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("c2VjcmV0LXNlY3JldA==", connection.ToString(), StringComparison.Ordinal);
        Assert.Contains("AZURE_STORAGE_ACCESS_KEY", key.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("not*base64*secret", key.ToString(), StringComparison.Ordinal);
    }

    /// <summary>Runs an action once the given number of bytes was read through it.</summary>
    private sealed class CallbackStream(Stream inner, long afterBytes, Action callback) : Stream
    {
        private long _read;
        private bool _called;

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override int Read(byte[] buffer, int offset, int count) => Count(inner.Read(buffer, offset, count));
        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            Count(await inner.ReadAsync(buffer, cancellationToken));
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        private int Count(int read)
        {
            _read += read;
            if (!_called && _read >= afterBytes)
            {
                _called = true;
                callback();
            }

            return read;
        }
    }
}
