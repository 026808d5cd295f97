using System.Diagnostics.CodeAnalysis;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace PgArchive.DependencyInjection;

/// <summary>
/// Binds <typeparamref name="TOptions"/> from the subsection <paramref name="name"/> of the PgArchive section, when
/// <c>AddPgArchive(IConfiguration)</c> gave one; a key the options do not have is an error, so a misspelt one is not
/// silently ignored.
/// </summary>
/// <remarks>
/// The type is only known here as a type parameter, so the configuration binding generator cannot write this binding and
/// the reflection binder does it. That is trim- and AOT-safe for what a codec's options are (a class of settable scalar
/// properties): <see cref="DynamicallyAccessedMembersAttribute"/> keeps every member of <typeparamref name="TOptions"/>,
/// and scalars need no generic type made at run time.
/// </remarks>
internal sealed class SubsectionConfigureOptions<[DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.All)] TOptions>(
    PgArchiveConfigurationSection? root, string name) : IConfigureOptions<TOptions>
    where TOptions : class
{
    // The reflection binder, named as a method group: the binding generator intercepts calls it can write and reports
    // (as an error here) those it cannot, such as one of a type parameter. The method group is taken inside a method so
    // that the suppressions cover it: on a field initializer the compiler's analyzers accept them, but Native AOT's
    // compiler reports the reference in the static constructor, where they do not apply.
    private static readonly Action<IConfiguration, object?, Action<BinderOptions>?> Bind = ReflectionBinder();

    [UnconditionalSuppressMessage("Trimming", "IL2026", Justification = "TOptions keeps all its members (DynamicallyAccessedMembers.All); codec options are scalar properties.")]
    [UnconditionalSuppressMessage("AOT", "IL3050", Justification = "Binding scalar properties creates no generic type at run time.")]
    private static Action<IConfiguration, object?, Action<BinderOptions>?> ReflectionBinder() => ConfigurationBinder.Bind;

    public void Configure(TOptions options)
    {
        if (root is not null)
        {
            Bind(root.Section.GetSection(name), options, static b => b.ErrorOnUnknownConfiguration = true);
        }
    }
}
