using Microsoft.Extensions.DependencyInjection;
using PgArchive.Backups;
using PgArchive.Storage;

namespace PgArchive.Support;

/// <summary>
/// An in-memory archive (lz4, no encryption) and a temporary directory to restore into: backups are stored with
/// <see cref="SyntheticBackup"/> and restored through the BackupFetcher that AddPgArchive registers.
/// </summary>
internal sealed class RestoreBench : IDisposable
{
    public const string Backup = "base_000000010000000000000004";

    private readonly ServiceProvider _services;

    public RestoreBench()
    {
        var services = new ServiceCollection();
        services.AddSingleton<IObjectStore>(Store);
        services.AddPgArchive();
        _services = services.BuildServiceProvider();
    }

    public InMemoryObjectStore Store { get; } = new();

    /// <summary>A temporary directory, removed on dispose.</summary>
    public string Root { get; } = Directory.CreateTempSubdirectory("pgarchive-restore-").FullName;

    /// <summary>Where a restore goes by default: not created yet.</summary>
    public string Target => Path.Combine(Root, "restored");

    public byte[] PgControl { get; } = Codecs.Data(8192, seed: 42);

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    public Task<Dictionary<string, string>> StoreAsync(string backup, IEnumerable<(string Partition, TarMember[] Members)> partitions,
        Action<FilesMetadata>? files = null, bool withFilesMetadata = true, Action<BackupSentinel>? sentinel = null) =>
        SyntheticBackup.StoreAsync(Store, _services.GetRequiredService<ObjectCodec>(), backup, partitions, files, withFilesMetadata, sentinel);

    /// <summary>Stores <see cref="Backup"/> with the usual partitions around <paramref name="data"/>.</summary>
    public Task<Dictionary<string, string>> StoreAsync(params TarMember[] data) => StoreAsync(Backup, SyntheticBackup.Partitions(PgControl, data));

    /// <summary>Restores <see cref="Backup"/> into <see cref="Target"/>, or as <paramref name="request"/> says.</summary>
    public Task<BackupFetchResult> FetchAsync(BackupFetchRequest? request = null) =>
        _services.GetRequiredService<BackupFetcher>().FetchAsync(request ?? new BackupFetchRequest { TargetDirectory = Target, BackupName = Backup }, Token);

    /// <summary>The names directly in <paramref name="directory"/>, sorted.</summary>
    public static string[] Entries(string directory) =>
        [.. Directory.EnumerateFileSystemEntries(directory).Select(e => Path.GetFileName(e)!).Order(StringComparer.Ordinal)];

    public void Dispose()
    {
        _services.Dispose();
        Directory.Delete(Root, recursive: true);
    }
}
