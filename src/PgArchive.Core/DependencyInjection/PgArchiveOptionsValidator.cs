using Microsoft.Extensions.Options;
using PgArchive.Storage;

namespace PgArchive.DependencyInjection;

/// <summary>Checks <see cref="PgArchiveOptions"/>' data annotations at start-up (source-generated, trimming-safe).</summary>
[OptionsValidator]
internal sealed partial class PgArchiveOptionsValidator : IValidateOptions<PgArchiveOptions>;

/// <summary>Checks <see cref="LocalFileSystemObjectStoreOptions"/>' data annotations at start-up.</summary>
[OptionsValidator]
internal sealed partial class LocalFileSystemObjectStoreOptionsValidator : IValidateOptions<LocalFileSystemObjectStoreOptions>;
