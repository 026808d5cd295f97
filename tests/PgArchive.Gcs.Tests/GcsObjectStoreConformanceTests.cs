using PgArchive.Storage.Conformance;

namespace PgArchive.Storage;

/// <summary>
/// The storage contract against the Cloud Storage emulator, with the smallest chunk size (256 KiB) so that the
/// unknown-length, failing-content and large object tests go through many resumable chunks.
/// </summary>
public sealed class GcsObjectStoreConformanceTests(GcsEmulatorFixture gcs) : ObjectStoreConformanceTests
{
    protected override Task<IObjectStore> CreateStoreAsync()
    {
        var options = gcs.Options("conformance/" + Guid.NewGuid().ToString("N"));
        options.ChunkSize = GcsObjectStoreOptions.ChunkGranularity;
        return Task.FromResult<IObjectStore>(new GcsObjectStore(GcsObjectStore.CreateClient(options), options));
    }
}
