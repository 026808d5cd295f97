using PgArchive.Cli.Configuration;
using PgArchive.DependencyInjection;

namespace PgArchive.Cli.Storage;

/// <summary>One storage backend the CLI can select from WAL-G's prefix variables.</summary>
internal interface IStorageBackend
{
    /// <summary>A short name for messages, e.g. <c>file</c>.</summary>
    string Name { get; }

    /// <summary>The variables that select this backend, WAL-G's first (e.g. <c>WALG_S3_PREFIX</c>, <c>WALE_S3_PREFIX</c>).</summary>
    IReadOnlyList<string> PrefixVariables { get; }

    /// <summary>Registers the backend's store from the prefix and its other settings.</summary>
    void Configure(IPgArchiveBuilder builder, string prefix, WalgSettings settings);
}
