using Microsoft.Extensions.Options;

namespace PgArchive.Testing;

/// <summary>
/// The tests every options validator's test class inherits: options that pass, and each rule broken alone failing with
/// exactly its message. The derived class declares <c>public static TheoryData&lt;string, string&gt; Rules</c> (rule, message)
/// and breaks the named rule in <see cref="Break"/>.
/// </summary>
/// <typeparam name="TOptions">The options type the validator checks.</typeparam>
public abstract class OptionsValidatorContract<TOptions>
    where TOptions : class
{
    /// <summary>The validator under test.</summary>
    protected abstract IValidateOptions<TOptions> Validator { get; }

    /// <summary>Options that break no rule.</summary>
    protected abstract TOptions Valid();

    /// <summary>Breaks only <paramref name="rule"/> (a key of the derived class's <c>Rules</c>) in <paramref name="options"/>.</summary>
    protected abstract void Break(string rule, TOptions options);

    [Fact]
    public void Valid_options_pass() =>
        Assert.Null(Validator.Validate(null, Valid()).Failures);

    [Theory]
    [MemberData("Rules")]
    public void Each_rule_broken_alone_fails_with_its_exact_message(string rule, string message)
    {
        var options = Valid();
        Break(rule, options);

        var result = Validator.Validate(null, options);

        Assert.Equal([message], result.Failures ?? []);
    }
}
