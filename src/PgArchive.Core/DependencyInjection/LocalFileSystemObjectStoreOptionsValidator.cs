using Microsoft.Extensions.Options;
using PgArchive.Storage;

namespace PgArchive.DependencyInjection;

/// <summary>Checks <see cref="LocalFileSystemObjectStoreOptions"/> at start-up.</summary>
internal sealed class LocalFileSystemObjectStoreOptionsValidator : IValidateOptions<LocalFileSystemObjectStoreOptions>
{
    public ValidateOptionsResult Validate(string? name, LocalFileSystemObjectStoreOptions options) =>
        string.IsNullOrWhiteSpace(options.RootPath)
            ? ValidateOptionsResult.Fail("LocalFileSystem:RootPath (WALG_FILE_PREFIX) is required: the directory that holds the archive.")
            : ValidateOptionsResult.Success;
}
