# RubyGems' own Gem::Requirement and Gem::Version answering "does this
# version satisfy this requirement" for oracle-scan.py.
# stdin: {"checks": [["1.2.3", "~> 1.2.3, >= 1.2.3.1"], ...]}; a requirement
# string may hold several comma-separated constraints, all of which must hold
# (as ruby-advisory-db writes them and as bundler-audit reads them).
# stdout: a JSON array with "true", "false" or "invalid: <why>" per check.
require 'json'
require 'rubygems'

checks = JSON.parse($stdin.read).fetch('checks')
out = checks.map do |version, requirement|
  unless Gem::Version.correct?(version)
    next "invalid: version #{version.inspect} is not valid to Gem::Version"
  end
  begin
    constraints = requirement.split(',').map(&:strip)
    Gem::Requirement.new(*constraints).satisfied_by?(Gem::Version.new(version)) ? 'true' : 'false'
  rescue Gem::Requirement::BadRequirementError, ArgumentError => e
    "invalid: requirement #{requirement.inspect}: #{e.message}"
  end
end
$stdout.write(JSON.generate(out))
