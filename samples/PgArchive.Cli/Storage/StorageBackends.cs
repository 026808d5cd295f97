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

    /// <summary>The variables besides the prefix that decide which service a prefix is on (endpoints, accounts).</summary>
    private static readonly string[] LocationVariables = ["AWS_ENDPOINT", "AZURE_STORAGE_ACCOUNT", "STORAGE_EMULATOR_HOST", "OS_AUTH_URL"];

    public static void Configure(IPgArchiveBuilder builder, WalgSettings settings)
    {
        var (backend, variable) = Choose(settings);
        backend.Configure(builder, settings.Get(variable)!, settings);
    }

    /// <summary>
    /// Where <paramref name="settings"/> store: the backend, its prefix (a local path made absolute) and the endpoint or
    /// account it is on. Two settings with the same location address the same store.
    /// </summary>
    public static string Location(WalgSettings settings)
    {
        var (backend, variable) = Choose(settings);
        var prefix = settings.Get(variable)!;
        prefix = backend is FileSystemBackend ? FileSystemBackend.DirectoryOf(prefix) : prefix;
        return $"{backend.Name}:{prefix.TrimEnd('/')}" + string.Concat(LocationVariables.Select(v => settings.Get(v) is { } value ? $" {v}={value.TrimEnd('/')}" : ""));
    }

    private static (IStorageBackend Backend, string Variable) Choose(WalgSettings settings)
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

        return (chosen[0].Backend, chosen[0].Variable!);
    }
}
