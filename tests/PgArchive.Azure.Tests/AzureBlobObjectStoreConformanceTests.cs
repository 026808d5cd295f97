using PgArchive.Storage.Conformance;

namespace PgArchive.Storage;

/// <summary>
/// The storage contract against Azurite, with 1 MiB blocks so that the unknown-length, failing-content and large
/// object tests go through block staging (several blocks in flight, then one commit).
/// </summary>
public sealed class AzureBlobObjectStoreConformanceTests(AzuriteFixture azurite) : ObjectStoreConformanceTests
{
    protected override Task<IObjectStore> CreateStoreAsync()
    {
        var options = azurite.Options("conformance/" + Guid.NewGuid().ToString("N"));
        options.BlockSize = AzureBlobObjectStoreOptions.MinBlockSize;
        return Task.FromResult<IObjectStore>(new AzureBlobObjectStore(AzureBlobObjectStore.CreateContainerClient(options), options));
    }
}
