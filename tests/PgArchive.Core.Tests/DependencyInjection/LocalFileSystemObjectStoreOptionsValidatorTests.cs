using Microsoft.Extensions.Options;
using PgArchive.Storage;
using PgArchive.Testing;

namespace PgArchive.DependencyInjection;

public sealed class LocalFileSystemObjectStoreOptionsValidatorTests : OptionsValidatorContract<LocalFileSystemObjectStoreOptions>
{
    public static TheoryData<string, string> Rules => new()
    {
        { "RootPath", "LocalFileSystem:RootPath (WALG_FILE_PREFIX) is required: the directory that holds the archive." },
    };

    protected override IValidateOptions<LocalFileSystemObjectStoreOptions> Validator { get; } = new LocalFileSystemObjectStoreOptionsValidator();

    protected override LocalFileSystemObjectStoreOptions Valid() => new() { RootPath = "/backups" };

    protected override void Break(string rule, LocalFileSystemObjectStoreOptions options) =>
        options.RootPath = rule == "RootPath" ? " " : throw new ArgumentOutOfRangeException(nameof(rule), rule, null);
}
