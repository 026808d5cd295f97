using PgArchive.Cli.Configuration;
using PgArchive.DependencyInjection;

namespace PgArchive.Cli.Storage;

/// <summary>
/// Picks the storage backend from the one prefix variable that is set, as WAL-G does. Add a backend by
/// adding it to <see cref="All"/>.
/// </summary>
internal static class StorageBackends
{
    public static readonly IReadOnlyList<IStorageBackend> All =
    [
        new FileSystemBackend(),
        new AzureBlobBackend(),
        new GcsBackend(),
        new S3Backend(),
        new SwiftBackend(),
    ];

    public static void Configure(IPgArchiveBuilder builder, WalgSettings settings)
    {
        var chosen = All
            .Select(backend => (Backend: backend, Variable: backend.PrefixVariables.FirstOrDefault(v => settings.Get(v) is not null)))
            .Where(c => c.Variable is not null)
            .ToList();
        if (chosen.Count == 0)
        {
            throw new PgArchiveConfigurationException(
                "No storage is configured: set exactly one of " + string.Join(", ", All.SelectMany(b => b.PrefixVariables)) + ".");
        }

        if (chosen.Count > 1)
        {
            throw new PgArchiveConfigurationException(
                "Several storage prefixes are set (" + string.Join(", ", chosen.Select(c => c.Variable)) + "): set exactly one.");
        }

        var (backend, variable) = chosen[0];
        backend.Configure(builder, settings.Get(variable!)!, settings);
    }
}
