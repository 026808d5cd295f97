using System.Security.Cryptography;
using PgArchive.Authentication;
using PgArchive.Storage.Conformance;

namespace PgArchive.Storage;

/// <summary>The store contract through <see cref="AuthenticatingObjectStore"/>, over the in-memory store.</summary>
public sealed class AuthenticatingInMemoryObjectStoreTests : ObjectCopierConformanceTests
{
    protected override Task<IObjectStore> CreateStoreAsync() =>
        Task.FromResult<IObjectStore>(new AuthenticatingObjectStore(new InMemoryObjectStore(), new ArchiveAuthenticationKey(RandomNumberGenerator.GetBytes(32))));

    /// <summary>Refused on purpose: a range cannot be checked against the whole object's SHA-256.</summary>
    public override async Task Read_with_a_range_returns_that_slice()
    {
        await Store.PutAsync("ranged", new MemoryStream(RandomBytes(1000)), cancellationToken: Token);
        await Assert.ThrowsAsync<NotSupportedException>(() => Store.OpenReadAsync("ranged", new ByteRange(10, 10), Token));
    }
}

/// <summary>The store contract through <see cref="AuthenticatingObjectStore"/>, over the local-filesystem store.</summary>
public sealed class AuthenticatingLocalFileSystemObjectStoreTests : ObjectCopierConformanceTests
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "pgarchive-auth-fs-" + Guid.NewGuid().ToString("N"));

    protected override Task<IObjectStore> CreateStoreAsync() =>
        Task.FromResult<IObjectStore>(new AuthenticatingObjectStore(new LocalFileSystemObjectStore(_root), new ArchiveAuthenticationKey(RandomNumberGenerator.GetBytes(48))));

    protected override async Task CleanUpAsync(IObjectStore store)
    {
        await base.CleanUpAsync(store);
        var records = Path.Combine(_root, "pgarchive_auth");
        Assert.True(!Directory.Exists(records) || Directory.GetFiles(records, "*", SearchOption.AllDirectories).Length == 0,
            "deleting every listed object should delete every authentication record");
        if (Directory.Exists(_root))
        {
            Directory.Delete(_root, recursive: true);
        }
    }

    /// <summary>Refused on purpose: a range cannot be checked against the whole object's SHA-256.</summary>
    public override async Task Read_with_a_range_returns_that_slice()
    {
        await Store.PutAsync("ranged", new MemoryStream(RandomBytes(1000)), cancellationToken: Token);
        await Assert.ThrowsAsync<NotSupportedException>(() => Store.OpenReadAsync("ranged", new ByteRange(10, 10), Token));
    }
}
